package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// Tokens of the access file the tests below give trackd.
const (
	viewerToken = "viewer-token-0123456789abcdef"
	runnerToken = "runner-token-0123456789abcdef"
	adminToken  = "admin-token-0123456789abcdef"
	ritaToken   = "rita-token-0123456789abcdef"
)

// writeAccess writes an access file (mode 600) holding lines and returns
// its path.
func writeAccess(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "access")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func accessLines() []string {
	return []string{
		"token " + adminToken, // today's line: an admin
		"token vera viewer " + auth.HashToken(viewerToken),
		"token rudi runner " + runnerToken,
		"cert labpc runner cn:labpc",
		"token rita runner " + ritaToken,
	}
}

// probe is one protocol of the shared port, tried with or without a
// token: it returns nil when the server serves it, an error saying how
// it refused otherwise.
type probe struct {
	name string
	try  func(ctx context.Context, addr string, tc *tls.Config, token string) error
}

var probes = []probe{
	{"native rpc", func(ctx context.Context, addr string, tc *tls.Config, token string) error {
		c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{TLS: tc, Token: token, Protocol: rpc.ProtocolNative})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Call(ctx, "list_runs", map[string]any{})
		return err
	}},
	{"pc_rpc", func(ctx context.Context, addr string, tc *tls.Config, token string) error {
		c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{TLS: tc, Token: token, Protocol: rpc.ProtocolSiPyCo})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Call(ctx, "list_runs", map[string]any{})
		return err
	}},
	{"native sync", func(ctx context.Context, addr string, tc *tls.Config, token string) error {
		sub := map[string]any{"t": "subscribe", "notifier": "runs", "epoch": 0, "seq": 0}
		if token != "" {
			sub["token"] = token
		}
		var m map[string]any
		if err := frameExchange(ctx, addr, tc, wire.BannerSync, sub, &m); err != nil {
			return err
		}
		if m["t"] == "error" {
			return fmt.Errorf("refused: %v: %v", m["code"], m["message"])
		}
		return nil
	}},
	{"SiPyCo sync", func(ctx context.Context, addr string, tc *tls.Config, token string) error {
		first := "runs\n"
		if token != "" {
			first = "SIGOCO token " + token + "\n" + first
		}
		return lineExchange(ctx, addr, tc, wire.BannerSiPyCoSync, first, true)
	}},
	{"native log", func(ctx context.Context, addr string, tc *tls.Config, token string) error {
		hello := map[string]any{"source": "probe"}
		if token != "" {
			hello["token"] = token
		}
		var m []any
		if err := frameExchange(ctx, addr, tc, wire.BannerLog, []any{"hello", hello}, &m); err != nil {
			return err
		}
		if len(m) > 0 && m[0] == "error" {
			return fmt.Errorf("refused: %v", m[1:])
		}
		return nil
	}},
	{"SiPyCo log", func(ctx context.Context, addr string, tc *tls.Config, token string) error {
		first := "probe:INFO:test:hello\n"
		if token != "" {
			first = "SIGOCO token " + token + "\n" + first
		}
		return lineExchange(ctx, addr, tc, wire.BannerSiPyCoLog, first, false)
	}},
}

// frameExchange sends banner and one msgpack frame, and decodes the
// first frame of the answer into out.
func frameExchange(ctx context.Context, addr string, tc *tls.Config, banner string, msg, out any) error {
	conn, err := wire.Dial(ctx, addr, tc, banner)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // fails, not hangs
	b, err := msgpack.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := conn.Write(wire.AppendFrame(nil, b)); err != nil {
		return err
	}
	frame, err := conn.FrameReader(64 << 20).Next()
	if err != nil {
		return fmt.Errorf("closed: %w", err)
	}
	return msgpack.Unmarshal(frame, out)
}

// lineExchange speaks one of SiPyCo's line protocols, which refuse by
// closing: answered (sync: the init line arrives) or, when the server
// says nothing by design (logging), still open after a while means
// served; closed means refused.
func lineExchange(ctx context.Context, addr string, tc *tls.Config, banner, send string, answered bool) error {
	conn, err := wire.Dial(ctx, addr, tc, banner)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(send)); err != nil {
		return err
	}
	wait := 10 * time.Second
	if !answered {
		wait = 1500 * time.Millisecond
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	_, err = conn.R.ReadString('\n')
	var ne net.Error
	switch {
	case err == nil && answered:
		return nil
	case errors.As(err, &ne) && ne.Timeout() && !answered:
		return nil
	case err == nil:
		return errors.New("unexpected answer")
	}
	return fmt.Errorf("closed: %w", err)
}

// TestAnonymousRefusedOnEveryProtocol: with an access file, a connection
// without a credential is refused on every protocol of the port (at
// e965fc3 --access guarded HTTP only: native rpc, pc_rpc, native sync and
// logging all worked with no token), and one with a token is served.
func TestAnonymousRefusedOnEveryProtocol(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...))
	addr := "127.0.0.1:" + port
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			if err := p.try(ctx, addr, nil, ""); err == nil {
				t.Errorf("served without a token")
			} else if p.name == "native rpc" && !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("refused, but not as auth.ErrUnauthenticated: %v", err)
			}
			if err := p.try(ctx, addr, nil, "wrong-token-0123456789abc"); err == nil {
				t.Errorf("served with an unknown token")
			}
			if err := p.try(ctx, addr, nil, runnerToken); err != nil {
				t.Errorf("runner token refused: %v", err)
			}
		})
	}
	// HTTP keeps refusing, and accepts the same tokens.
	if code := httpCall(t, addr, "", "list_runs"); code != http.StatusUnauthorized {
		t.Errorf("HTTP without a token: %d", code)
	}
	if code := httpCall(t, addr, viewerToken, "list_runs"); code != http.StatusOK {
		t.Errorf("HTTP with a viewer token: %d", code)
	}
	d.stop(t)
}

// httpCall makes POST /api/call on the tracker with a bearer token and
// returns the status.
func httpCall(t *testing.T, addr, token, method string, args ...any) int {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	body, _ := json.Marshal(map[string]any{"method": method, "args": args})
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/call", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRoles: a viewer reads but may not write (rpc, HTTP, logs); a runner
// starts runs and writes them; an admin deletes them.
func TestRoles(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...))
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 60*time.Second)

	run, err := track.Start(ctx, track.Options{Project: "roles", Addr: addr, Token: runnerToken, SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("p", 1)
	if err := run.Flush(ctx); err != nil {
		t.Fatalf("runner's run: %v", err)
	}
	id := run.ID()

	dial := func(tok string) *rpc.Client {
		c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	viewer, runner, admin := dial(viewerToken), dial(runnerToken), dial(adminToken)
	if _, err := viewer.Call(ctx, "get_run", id); err != nil {
		t.Errorf("viewer get_run: %v", err)
	}
	for _, m := range [][]any{{"add_tag", id, "x"}, {"add_note", id, "x"}, {"delete_run", id}} {
		if _, err := viewer.Call(ctx, m[0].(string), m[1:]...); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("viewer %s: %v, want auth.ErrForbidden", m[0], err)
		}
	}
	if code := httpCall(t, addr, viewerToken, "add_tag", id, "x"); code != http.StatusForbidden {
		t.Errorf("viewer add_tag over HTTP: %d", code)
	}
	// A viewer's run never starts.
	vrun, err := track.Start(ctx, track.Options{Project: "roles", Addr: addr, Token: viewerToken, SpoolDir: t.TempDir(), NoMetadata: true})
	if err == nil {
		vrun.LogParam("p", 1)
		err = vrun.Flush(ctx)
		vrun.End(ctx, track.StatusFinished)
	}
	if err == nil {
		t.Errorf("viewer's run was stored")
	}
	if err := probes[4].try(ctx, addr, nil, viewerToken); err == nil {
		t.Errorf("viewer forwarded logs")
	}
	if _, err := runner.Call(ctx, "add_tag", id, "ok"); err != nil {
		t.Errorf("runner add_tag: %v", err)
	}
	if code := httpCall(t, addr, runnerToken, "add_tag", id, "http"); code != http.StatusOK {
		t.Errorf("runner add_tag over HTTP: %d", code)
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Errorf("runner End: %v", err)
	}
	if _, err := admin.Call(ctx, "delete_run", id); err != nil {
		t.Errorf("admin delete_run: %v", err)
	}
	d.stop(t)
}

// TestClientCertificate: with --tls-peer-cert, a client certificate the
// access file maps is an identity on every protocol (the way for SiPyCo
// peers, which send no token), also from Python's ssl module with a
// hand-written pc_rpc exchange; without a certificate or token the TLS
// connection is refused; a token works without a certificate.
func TestClientCertificate(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	srv, lab, stranger := testcert.New(t, "server"), testcert.New(t, "labpc"), testcert.New(t, "stranger")
	// The pool trusts both client certificates; the access file maps one.
	pool := filepath.Join(t.TempDir(), "clients.pem")
	a, _ := os.ReadFile(lab.CertFile)
	b, _ := os.ReadFile(stranger.CertFile)
	os.WriteFile(pool, append(a, b...), 0o600)
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...),
		"--tls-cert", srv.CertFile, "--tls-key", srv.KeyFile, "--tls-peer-cert", pool)
	addr := "127.0.0.1:" + port
	clientTLS := func(p *testcert.Pair) *tls.Config {
		cfg := wire.TLSConfig{PeerCertFile: srv.CertFile}
		if p != nil {
			cfg.CertFile, cfg.KeyFile = p.CertFile, p.KeyFile
		}
		c, err := cfg.Client("localhost")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			if err := p.try(ctx, addr, clientTLS(&lab), ""); err != nil {
				t.Errorf("mapped certificate refused: %v", err)
			}
			if err := p.try(ctx, addr, clientTLS(&stranger), ""); err == nil {
				t.Errorf("trusted but unmapped certificate served")
			}
			if err := p.try(ctx, addr, clientTLS(nil), ""); err == nil {
				t.Errorf("served over TLS without a certificate or token")
			}
			if err := p.try(ctx, addr, clientTLS(nil), viewerToken); err != nil && p.name != "native log" && p.name != "SiPyCo log" {
				t.Errorf("token without a certificate refused: %v", err)
			}
		})
	}
	// HTTP too: the certificate is the identity of a dashboard request.
	for _, c := range []struct {
		p    *testcert.Pair
		want int
	}{{&lab, http.StatusOK}, {&stranger, http.StatusUnauthorized}, {nil, http.StatusUnauthorized}} {
		body := strings.NewReader(`{"method": "list_runs", "args": [{}]}`)
		req, _ := http.NewRequest("POST", "https://"+addr+"/api/call", body)
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS(c.p)}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("HTTPS /api/call with certificate %v: %d, want %d", c.p != nil, resp.StatusCode, c.want)
		}
	}
	// A runner by certificate writes.
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "cert", Addr: addr, TLS: clientTLS(&lab), SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("p", 1)
	if err := run.Flush(ctx); err != nil {
		t.Fatalf("run by certificate: %v", err)
	}
	t.Run("python ssl", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("no python3")
		}
		out, err := exec.CommandContext(ctx, py, "-c", pyPcRPC, addr, srv.CertFile, lab.CertFile, lab.KeyFile, run.ID()).CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "ok list_runs") || !strings.Contains(string(out), "ok add_tag") {
			t.Fatalf("python: %s", out)
		}
		// Without the certificate, Python is closed on (as SiPyCo closes).
		out, err = exec.CommandContext(ctx, py, "-c", pyPcRPC, addr, srv.CertFile, "", "", run.ID()).CombinedOutput()
		if err == nil {
			t.Fatalf("python without a certificate was served: %s", out)
		}
	})
	run.End(ctx, track.StatusFinished)
	d.stop(t)
	if t.Failed() {
		t.Logf("trackd:\n%s", d.stderr)
	}
}

// pyPcRPC is a SiPyCo pc_rpc client written with the standard library
// only: TLS with a client certificate, the identification, the target
// line, two calls.
const pyPcRPC = `
import json, socket, ssl, sys
addr, ca, cert, key, run = sys.argv[1:6]
host, port = addr.rsplit(":", 1)
ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
ctx.check_hostname = False
if cert:
    ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=20))
f = s.makefile("rwb")
def send(line):
    f.write(line.encode() + b"\n"); f.flush()
def recv():
    line = f.readline()
    if not line:
        raise SystemExit("closed by the server")
    return json.loads(line)
send("ARTIQ pc_rpc")
ident = recv()
assert "tracker" in ident["targets"], ident
send("tracker pyon_v2")
recv()  # the method names
def call(name, *args):
    send(json.dumps({"action": "call", "name": name,
                     "args": {"__jsonclass__": ["tuple", [list(args)]]}, "kwargs": {}}))
    r = recv()
    if r["status"] != "ok":
        raise SystemExit("%s failed: %r" % (name, r))
    print("ok", name)
call("list_runs", {})
call("add_tag", run, "from-python")
`

// TestBeyondLoopbackNeedsAccess: bound beyond loopback without an access
// file trackd refuses to start and says why; --insecure starts it. With
// TLS but no client-certificate pool it warns.
func TestBeyondLoopbackNeedsAccess(t *testing.T) {
	cmd := exec.Command(trackdBin, "--bind", "0.0.0.0", "--port", freePort(t), "--data", t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "without an access file") || !strings.Contains(string(out), "--insecure") {
		t.Fatalf("trackd --bind 0.0.0.0: %v\n%s", err, out)
	}
	srv := testcert.New(t, "server")
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--bind", "0.0.0.0", "--insecure", "--tls-cert", srv.CertFile, "--tls-key", srv.KeyFile)
	tc, err := wire.TLSConfig{PeerCertFile: srv.CertFile}.Client("localhost")
	if err != nil {
		t.Fatal(err)
	}
	// Served to anyone (--insecure); once it answers, it is ready to stop.
	if err := probes[0].try(ctxT(t, 30*time.Second), "127.0.0.1:"+port, tc, ""); err != nil {
		t.Errorf("--insecure: %v", err)
	}
	d.stop(t)
	for _, want := range []string{"--insecure: everyone", "TLS without --tls-peer-cert"} {
		if !strings.Contains(d.stderr.String(), want) {
			t.Errorf("no warning %q:\n%s", want, d.stderr)
		}
	}
}

// TestTokenCommand: trackd token NAME --role R prints a token and the
// line to add; with that line the token is an identity of that role.
func TestTokenCommand(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	out, err := exec.Command(trackdBin, "token", "ann", "--role", "viewer").Output()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	var tok, line string
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), auth.EnvToken+"="); ok {
			tok = v
		} else if strings.HasPrefix(sc.Text(), "token ann viewer sha256:") {
			line = sc.Text()
		}
	}
	if tok == "" || line == "" || strings.Contains(line, tok) {
		t.Fatalf("output: %q", out)
	}
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, line))
	ctx := ctxT(t, 30*time.Second)
	t.Setenv(auth.EnvToken, tok) // the clients' default
	c, err := rpc.Dial(ctx, "127.0.0.1:"+port, "tracker", rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctx, "list_runs", map[string]any{}); err != nil {
		t.Errorf("list_runs: %v", err)
	}
	if _, err := c.Call(ctx, "delete_run", "x"); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("viewer delete_run: %v", err)
	}
	c.Close()
	d.stop(t)
}

// TestRunOwnership: a run belongs to the identity that started it; another
// runner may not write it (batches, its end, tags, logs, heartbeats,
// exposed objects) nor delete it, the owner and an admin may; a client may
// not forge the owner record.
func TestRunOwnership(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...))
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "own", Addr: addr, Token: runnerToken, SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("p", 1)
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	id := run.ID()
	dial := func(tok string) *rpc.Client {
		c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	rudi, rita, admin := dial(runnerToken), dial(ritaToken), dial(adminToken)
	var info struct{ Params, Metadata map[string]any }
	getRun := func() {
		t.Helper()
		var m map[string]any
		if err := rudi.CallInto(ctx, &m, "get_run", id); err != nil {
			t.Fatal(err)
		}
		info.Params, _ = m["params"].(map[string]any)
		info.Metadata, _ = m["metadata"].(map[string]any)
	}
	getRun()
	if info.Metadata["owner"] != "rudi" {
		t.Errorf("owner: %v", info.Metadata)
	}
	for _, m := range [][]any{{"add_tag", id, "x"}, {"add_note", id, "x"}, {"heartbeat", id}, {"delete_run", id}, {"call_exposed", id, "sim", "stop", []any{}, map[string]any{}}} {
		if _, err := rita.Call(ctx, m[0].(string), m[1:]...); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("another runner's %s: %v, want auth.ErrForbidden", m[0], err)
		}
	}
	// Batches into the run (its end included) from another runner.
	forged, err := track.Start(ctx, track.Options{ID: id, Addr: addr, Token: ritaToken, SpoolDir: t.TempDir(), NoMetadata: true})
	if err == nil {
		forged.LogParam("q", 2)
		err = forged.Flush(ctx)
		forged.End(ctx, track.StatusFailed)
	}
	if err == nil {
		t.Errorf("another runner's batch was stored")
	}
	// Log lines forged into the run over SiPyCo's logging are dropped; the
	// owner's arrive.
	lineExchange(ctx, addr, nil, wire.BannerSiPyCoLog, "SIGOCO token "+ritaToken+"\n"+id+":INFO:x:forged\n", false)
	lineExchange(ctx, addr, nil, wire.BannerSiPyCoLog, "SIGOCO token "+runnerToken+"\n"+id+":INFO:x:genuine\n", false)
	for deadline := time.Now().Add(20 * time.Second); ; {
		var page map[string]any
		if err := rudi.CallInto(ctx, &page, "logs", map[string]any{"run": id}); err != nil {
			t.Fatal(err)
		}
		msgs := fmt.Sprint(page["logs"])
		if strings.Contains(msgs, "forged") {
			t.Fatalf("forged log line stored: %s", msgs)
		}
		if strings.Contains(msgs, "genuine") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the owner's log line never arrived: %s", msgs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Nor through the dashboard, whose calls reach the tracker as trackd.
	for _, m := range []string{"add_tag", "delete_run"} {
		if code := httpCall(t, addr, ritaToken, m, id, "x"); code != http.StatusForbidden {
			t.Errorf("another runner's %s over HTTP: %d", m, code)
		}
	}
	if code := httpCall(t, addr, runnerToken, "add_tag", id, "mine-http"); code != http.StatusOK {
		t.Errorf("owner add_tag over HTTP: %d", code)
	}
	// Exposing an object on the run: the owner's is listed, another
	// runner's and a viewer's are not (they would take its place).
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(run.Expose("good", &echo{}))
	for _, tok := range []string{ritaToken, viewerToken} {
		other, err := track.Start(ctx, track.Options{ID: id, Addr: addr, Token: tok, SpoolDir: t.TempDir(), NoMetadata: true})
		must(err)
		must(other.Expose("good", &echo{evil: true}))
		must(other.Expose("evil", &echo{evil: true}))
		defer other.End(ctx, track.StatusFailed)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		var res string
		err := rudi.CallInto(ctx, &res, "call_exposed", id, "good", "echo", []any{"x"}, map[string]any{})
		if err == nil && res != "x" {
			t.Fatalf("call_exposed reached another's object: %q", res)
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the owner's exposed object never appeared: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the others' connections have had their chance
	getRunExposed := func() map[string]any {
		var m map[string]any
		must(rudi.CallInto(ctx, &m, "get_run", id))
		e, _ := m["exposed"].(map[string]any)
		return e
	}
	if e := getRunExposed(); e["evil"] != nil || e["good"] == nil {
		t.Errorf("exposed: %v", e)
	}
	var res string
	if err := rudi.CallInto(ctx, &res, "call_exposed", id, "good", "echo", []any{"y"}, map[string]any{}); err != nil || res != "y" {
		t.Errorf("call_exposed after the others tried: %q, %v", res, err)
	}
	if _, err := rudi.Call(ctx, "add_tag", id, "mine"); err != nil {
		t.Errorf("owner add_tag: %v", err)
	}
	if _, err := admin.Call(ctx, "add_tag", id, "admin"); err != nil {
		t.Errorf("admin add_tag: %v", err)
	}
	getRun()
	if _, ok := info.Params["q"]; ok || info.Metadata["owner"] != "rudi" {
		t.Errorf("after the forgery: %v %v", info.Params, info.Metadata)
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Errorf("owner End: %v", err)
	}
	if _, err := rudi.Call(ctx, "delete_run", id); err != nil {
		t.Errorf("owner delete_run: %v", err)
	}
	d.stop(t)
}

// echo is an exposed object; an evil one answers differently.
type echo struct{ evil bool }

func (e *echo) Echo(s string) string {
	if e.evil {
		return "evil"
	}
	return s
}
