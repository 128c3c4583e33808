package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// controller stands in for examples/sigoco-controller: a "state" notifier served
// on one port through a wire.Mux, TCP and WebSocket (/sync).
func controller(t *testing.T) (*syncstruct.Notifier, string, string) {
	t.Helper()
	state, err := syncstruct.NewNotifier(map[string]any{"attenuation": 0.0, "last_settings": []any{}}, syncstruct.NotifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub := syncstruct.NewPublisher(map[string]*syncstruct.Notifier{"state": state}, syncstruct.PublisherOptions{})
	mux := wire.NewMux(wire.MuxOptions{})
	mux.Handle(wire.BannerSync, pub)
	hm := http.NewServeMux()
	hm.Handle("/sync", pub)
	mux.HandleHTTP(hm)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		mux.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		pub.Close()
		mux.Close()
		<-done
	})
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	return state, host, port
}

// lockedBuffer collects output written from the subscriber's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitOutput waits until out contains every one of want.
func waitOutput(t *testing.T, out *lockedBuffer, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := out.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q:\n%s", missing, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func setAttenuation(t *testing.T, state *syncstruct.Notifier, db float64) {
	t.Helper()
	if err := state.Set("attenuation", db); err != nil {
		t.Fatal(err)
	}
	if err := state.At("last_settings").Append(map[string]any{"db": db}); err != nil {
		t.Fatal(err)
	}
}

func TestOnce(t *testing.T) {
	state, host, port := controller(t)
	setAttenuation(t, state, 5.5)
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, "state at seq 2:\n  attenuation = 5.5\n  last_settings = [{\"db\":5.5}]\n"},
		{[]string{"--ws"}, "state at seq 2:\n  attenuation = 5.5\n  last_settings = [{\"db\":5.5}]\n"},
		{[]string{"--json"}, `{"action":"init","struct":{"attenuation":5.5,"last_settings":[{"db":5.5}]},"seq":2}` + "\n"},
	} {
		t.Run(strings.Join(tc.flags, " "), func(t *testing.T) {
			var out, diag lockedBuffer
			args := append([]string{"dashboard", "--host", host, "--port", port, "--once"}, tc.flags...)
			if err := newApp(&out, &diag).Run(args); err != nil {
				t.Fatalf("%v (stderr %s)", err, diag.String())
			}
			if out.String() != tc.want {
				t.Fatalf("output %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestLive(t *testing.T) {
	for _, ws := range []bool{false, true} {
		t.Run("ws="+strconv.FormatBool(ws), func(t *testing.T) {
			state, host, port := controller(t)
			var out, diag lockedBuffer
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel) // a failed assertion must not leave the dashboard running
			errc := make(chan error, 1)
			args := []string{"dashboard", "--host", host, "--port", port}
			if ws {
				args = append(args, "--ws")
			}
			go func() { errc <- newApp(&out, &diag).RunContext(ctx, args) }()
			waitOutput(t, &diag, `synced "state" at seq 0: full snapshot (first connection)`)
			waitOutput(t, &out, " state at seq 0:\n  attenuation = 0.0\n  last_settings = []\n")
			setAttenuation(t, state, 12.25)
			if _, err := state.At("last_settings").Pop(0); err != nil {
				t.Fatal(err)
			}
			if err := state.Delete("attenuation"); err != nil {
				t.Fatal(err)
			}
			waitOutput(t, &out, " attenuation = 12.25\n", ` last_settings += {"db":12.25}`+"\n", " last_settings.pop(0)\n", " del attenuation\n")
			cancel()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOnceTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now
	var out, diag lockedBuffer
	err = newApp(&out, &diag).Run([]string{"dashboard", "--port", port, "--once", "--timeout", "200ms"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestUsage(t *testing.T) {
	var out, diag lockedBuffer
	err := newApp(&out, &diag).Run([]string{"dashboard", "stray"})
	var ue usageError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want a usage error", err)
	}
	for _, port := range []string{"0", "70000", "-1"} {
		err = newApp(&out, &diag).Run([]string{"dashboard", "--port", port, "--once"})
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "1-65535") {
			t.Errorf("--port %s: err = %v, want a usage error", port, err)
		}
	}
	err = newApp(&out, &diag).Run([]string{"dashboard", "--tls-peer-cert", "/nonexistent.pem", "--once"})
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want a usage error for a missing certificate", err)
	}
}

func TestPathString(t *testing.T) {
	for _, tc := range []struct {
		path []any
		want string
	}{
		{nil, ""},
		{[]any{"runs", "r1", int64(0), "step"}, "runs.r1[0].step"},
		{[]any{int64(2)}, "[2]"},
		{[]any{int64(7), "x"}, "[7].x"},
	} {
		if got := pathString(tc.path); got != tc.want {
			t.Errorf("pathString(%v) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestFailuresAreReported: a port with no publisher is reported (and the
// dashboard keeps trying); an unknown notifier is a definitive refusal.
func TestFailuresAreReported(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now
	var out, diag lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // a failed assertion must not leave the dashboard running
	errc := make(chan error, 1)
	go func() { errc <- newApp(&out, &diag).RunContext(ctx, []string{"dashboard", "--port", port}) }()
	waitOutput(t, &diag, `cannot sync "state", retrying: `, "connection refused")
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("after SIGINT: %v", err)
	}

	_, host, cport := controller(t)
	for _, once := range []bool{false, true} {
		args := []string{"dashboard", "--host", host, "--port", cport, "--notifier", "unknown_notifier"}
		if once {
			args = append(args, "--once")
		}
		err := newApp(&out, &diag).Run(args)
		if !errors.Is(err, syncstruct.ErrUnknownNotifier) || !strings.Contains(err.Error(), "--notifier") {
			t.Errorf("once=%v: err = %v, want the unknown notifier and a hint", once, err)
		}
	}
}

// TestHelp: --help shows no urfave/cli boilerplate.
func TestHelp(t *testing.T) {
	var out, diag lockedBuffer
	if err := newApp(&out, &diag).Run([]string{"dashboard", "--help"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"[global options]", "COMMANDS:", "(default: false)", "GLOBAL OPTIONS"} {
		if strings.Contains(out.String(), bad) {
			t.Errorf("--help shows %q:\n%s", bad, out.String())
		}
	}
}
