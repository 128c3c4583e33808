package sipycotest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/internal/testcert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// described mirrors sipycotest_common.describe.
type described struct {
	Type  string `json:"type"`
	Repr  string `json:"repr"`
	JSON  any    `json:"json"`
	PYON  string `json:"pyon"`
	DType string `json:"dtype"`
}

type rpcSummary struct {
	Client         string            `json:"client"`
	Targets        []string          `json:"targets"`
	Description    string            `json:"description"`
	SelectedTarget string            `json:"selected_target"`
	Signatures     map[string]string `json:"signatures"`
	Steps          []string          `json:"steps"`
	FailedSteps    []string          `json:"failed_steps"`
	Results        map[string]struct {
		Call      string     `json:"call"`
		OK        bool       `json:"ok"`
		Pass      bool       `json:"pass"`
		Ret       *described `json:"ret"`
		Exception *struct {
			Class     string   `json:"class"`
			Message   string   `json:"message"`
			Traceback []string `json:"traceback"`
			Remote    bool     `json:"remote"`
		} `json:"exception"`
	} `json:"results"`
}

func TestRPCPythonToPython(t *testing.T) {
	env := Python(t)
	t.Logf("SiPyCo in %s (%s)", env.SiPyCo, env.Versions)
	srv := env.Serve(t, RPCServer)
	for _, client := range []string{"sync", "async", "besteffort"} {
		t.Run(client, func(t *testing.T) {
			var out rpcSummary
			env.RunJSON(t, &out, RPCClient, srv.Host, srv.PortArg(), "lda", "--client", client)
			if len(out.FailedSteps) > 0 {
				t.Errorf("failed steps %v against SiPyCo's own server", out.FailedSteps)
			}
			if len(out.Steps) < 50 || out.Client != client {
				t.Errorf("client %q ran %d steps: %v", out.Client, len(out.Steps), out.Steps)
			}
			r := out.Results
			if got := r["add_kw"].Ret; got == nil || got.Repr != "9" || got.Type != "int" {
				t.Errorf("add(1, b=2, scale=3) = %+v, want int 9", got)
			}
			if e := r["fail"].Exception; e == nil || e.Class != "ValueError" || !e.Remote || len(e.Traceback) == 0 {
				t.Errorf("fail() raised %+v", e)
			}
			if e := r["fail_custom"].Exception; e == nil || e.Class != "GenericRemoteException" ||
				!strings.HasSuffix(e.Message, "DeviceError: device not responding") {
				t.Errorf("fail_custom() raised %+v", e)
			}
			if e := r["no_such_method"].Exception; e == nil || e.Remote {
				t.Errorf("no_such_method() raised %+v, want a local AttributeError", e)
			}
			if got := r["echo:ndarray_f8_2x2"].Ret; got == nil || got.Type != "numpy.ndarray" || got.DType != "<f8" {
				t.Errorf("echo(ndarray) = %+v", got)
			}
			if client == "besteffort" {
				return // BestEffortClient offers neither get_rpc_id nor get_rpc_method_list
			}
			if !slices.Equal(out.Targets, []string{"aux", "lda"}) || out.Description != "transcript server" ||
				out.SelectedTarget != "lda" {
				t.Errorf("identification: %v %q %q", out.Targets, out.Description, out.SelectedTarget)
			}
		})
	}
}

func TestRPCTerminate(t *testing.T) {
	env := Python(t)
	srv := env.Serve(t, RPCServer, "--targets", "lda")
	var out rpcSummary
	env.RunJSON(t, &out, RPCClient, srv.Host, srv.PortArg(), "-", "--only", "add", "--terminate")
	if !slices.Equal(out.Steps, []string{"add", "terminate"}) || len(out.FailedSteps) > 0 {
		t.Errorf("steps %v, failed %v", out.Steps, out.FailedSteps)
	}
	r := srv.Wait(t)
	if r.Err != nil || !strings.Contains(r.Stdout, "terminated") {
		t.Errorf("server after terminate(): %s", r)
	}
}

func TestRPCTLS(t *testing.T) {
	env := Python(t)
	server, client := testcert.New(t, "server"), testcert.New(t, "client")
	srv := env.Serve(t, RPCServer, "--ssl", server.CertFile, server.KeyFile, client.CertFile)
	var out rpcSummary
	env.RunJSON(t, &out, RPCClient, srv.Host, srv.PortArg(), "lda", "--only", "add,fail",
		"--ssl", client.CertFile, client.KeyFile, server.CertFile)
	if len(out.Steps) != 2 || len(out.FailedSteps) > 0 {
		t.Errorf("over TLS: steps %v, failed %v", out.Steps, out.FailedSteps)
	}
	// Without TLS the handshake fails, and the client says so.
	if r := env.Run(t, RPCClient, srv.Host, srv.PortArg(), "lda", "--timeout", "2"); r.Err == nil {
		t.Errorf("plain client against TLS server succeeded: %s", r)
	}
}

func TestRPCTool(t *testing.T) {
	env := Python(t)
	srv := env.Serve(t, RPCServer, "--targets", "lda,aux,probe")
	for _, tc := range []struct {
		args []string
		want []string // substrings of stdout
		code int
	}{
		{[]string{"list-targets"}, []string{"Target(s):   aux, lda, probe", "Description: transcript server"}, 0},
		{[]string{"list-methods", "-t", "lda"}, []string{"add(self, a, b=1, *, scale=1)\n    Return (a+b)*scale.",
			"set_attenuation(self, db: 'float')", "terminate(self)"}, 0},
		{[]string{"call", "-t", "lda", "add", "1", "2"}, []string{"3"}, 0},
		{[]string{"call", "-t", "probe", "describe", "np.int32(7)"}, []string{"'type': 'numpy.int32'"}, 0},
		{[]string{"call", "-t", "lda", "fail"}, nil, 1},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := env.RPCTool(t, append([]string{srv.Host, srv.PortArg()}, tc.args...)...)
			if r.ExitCode != tc.code {
				t.Fatalf("exit %d, want %d: %s", r.ExitCode, tc.code, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Stdout, w) {
					t.Errorf("stdout lacks %q: %s", w, r)
				}
			}
		})
	}
}

type syncEvent struct {
	Event   string     `json:"event"`
	Reason  string     `json:"reason"`
	Mods    int        `json:"mods"`
	Replica *described `json:"replica"`
	PYON    string     `json:"pyon"`
}

func TestSyncCommands(t *testing.T) {
	env := Python(t)
	pub := env.Serve(t, SyncPublisher)
	for _, tc := range []struct{ cmd, reply string }{
		{`mod other {"action":"append","path":[],"x":{"__jsonclass__":["tuple",[[1,2]]]}}`, "ok mod"},
		{"burst other 3", "ok burst"},
		{`mod other {"action":"pop","path":[],"i":1}`, "ok mod"},
		{`update state {"status":"x"}`, "ok update"},
		{"nonsense", "error nonsense: ValueError: unknown command"},
		{`mod nowhere {}`, "error mod: KeyError: 'nowhere'"},
	} {
		pub.Send(t, tc.cmd)
		if got := pub.Line(t); got != tc.reply {
			t.Errorf("%s: got %q, want %q", tc.cmd, got, tc.reply)
		}
	}
	var ev syncEvent
	env.RunJSON(t, &ev, SyncSubscriber, pub.Host, pub.PortArg(), "other", "--mods", "0")
	if ev.Reason != "mods" || ev.Replica.PYON != `[{"__jsonclass__":["tuple",[[1,2]]]},1,2]` {
		t.Errorf("other: %+v %+v", ev, ev.Replica)
	}
	env.RunJSON(t, &ev, SyncSubscriber, pub.Host, pub.PortArg(), "state", "--until", `{"status":"x"}`)
	if ev.Reason != "until" || ev.Mods != 0 {
		t.Errorf("state: %+v", ev)
	}
}

func TestSyncPublisherGone(t *testing.T) {
	env := Python(t)
	pub := env.Serve(t, SyncPublisher)
	sub := env.Start(t, SyncSubscriber, pub.Host, pub.PortArg(), "state")
	sub.Expect(t, `{"event": "init"`)
	if r := pub.Stop(); r.Err != nil {
		t.Errorf("publisher: %s", r)
	}
	r := sub.Wait(t)
	var ev syncEvent
	r.JSON(t, &ev)
	if r.Err != nil || ev.Reason != "disconnected" {
		t.Errorf("subscriber after the publisher stopped: %+v, %s", ev, r)
	}
}

type logRecord struct {
	Source    *string `json:"source"`
	Name      string  `json:"name"`
	Level     int     `json:"level"`
	LevelName string  `json:"levelname"`
	Message   string  `json:"message"`
	Forwarded bool    `json:"forwarded"`
}

func TestLogForwarderStdin(t *testing.T) {
	env := Python(t)
	srv := env.Serve(t, LogServer)
	fwd := env.Start(t, LogForwarder, srv.Host, srv.PortArg(), "--source", "ctl_x", "--logger", "x",
		"--record", "TRACE:tr: a")
	var queued struct {
		Lines []string `json:"lines"`
	}
	fwd.JSONLine(t, &queued)
	fwd.Send(t, `["CRITICAL", "two\nlines"]`)
	fwd.JSONLine(t, &queued)
	if !slices.Equal(queued.Lines, []string{"ctl_x:CRITICAL<2>:x:two\nlines"}) {
		t.Errorf("queued %q", queued.Lines)
	}
	for _, want := range []logRecord{{Name: "x", Level: 5, LevelName: "TRACE", Message: "tr: a"},
		{Name: "x", Level: 50, LevelName: "CRITICAL", Message: "two\nlines"}} {
		var rec logRecord
		srv.JSONLine(t, &rec)
		if rec.Source == nil || *rec.Source != "ctl_x" || rec.Name != want.Name || rec.Level != want.Level ||
			rec.LevelName != want.LevelName || rec.Message != want.Message {
			t.Errorf("record %+v, want %+v", rec, want)
		}
	}
	if r := fwd.Stop(); r.Err != nil {
		t.Errorf("forwarder: %s", r)
	}
}

// The skip message names the fix and what was tried; this runs whether or
// not SiPyCo is installed.
func TestSkipReason(t *testing.T) {
	dir := t.TempDir()
	if err := writeScripts(dir); err != nil {
		t.Fatal(err)
	}
	res := probe(context.Background(), dir, filepath.Join(dir, "nonexistent"))
	if res.reason == "" {
		t.Skip("sipyco is installed in python3's own packages, so no path makes the probe fail")
	}
	if !strings.HasPrefix(res.reason, skipHint+"; tried with PYTHONPATH=") || !strings.Contains(res.reason, "nonexistent") {
		t.Errorf("skip reason %q", res.reason)
	}
}

// recordingDirs says where the repository keeps each recording of
// ../shared/sipyco-wire: one copy, in the package whose replay tests use
// it offline.
var recordingDirs = map[string]string{
	"sipyco_pc_rpc.jsonl":               "../../rpc/testdata",
	"sipyco_sync_struct.jsonl":          "../../syncstruct/testdata",
	"sipyco_sync_struct_replicas.jsonl": "../../syncstruct/testdata",
	"sipyco_logging.jsonl":              "../../logfwd/testdata",
	"sipyco_logging_records.jsonl":      "../../logfwd/testdata",
}

// chunk is one line of a traffic recording (see the recordings' README).
type chunk struct {
	Session string  `json:"session"`
	Conn    int     `json:"conn"`
	Case    string  `json:"case"`
	Dir     string  `json:"dir"`
	Data    *string `json:"data"`
	DataB64 string  `json:"data_b64"`
	EOF     bool    `json:"eof"`
}

// bytes is the chunk's data (nil for an EOF).
func (c chunk) bytes(t testing.TB) []byte {
	t.Helper()
	if c.Data != nil {
		return []byte(*c.Data)
	}
	if c.DataB64 == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(c.DataB64)
	if err != nil {
		t.Fatalf("%s/%s: %v", c.Session, c.Case, err)
	}
	return b
}

// recording reads every line of a recording into a T. A missing or empty
// recording fails the test: the recordings are what these tests compare
// against.
func recording[T any](t testing.TB, name string) []T {
	t.Helper()
	dir, ok := recordingDirs[name]
	if !ok {
		t.Fatalf("no recording %s", name)
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("recording missing (the repository keeps a copy of ../shared/sipyco-wire/%s there): %v", name, err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s is empty", name)
	}
	return out
}

func TestProcLifecycle(t *testing.T) {
	env := Python(t)
	t.Run("stop", func(t *testing.T) {
		p := env.Serve(t, RPCServer)
		if p.Host != "127.0.0.1" || p.Port <= 0 || p.Addr != "127.0.0.1:"+p.PortArg() {
			t.Errorf("ready: host %q port %d addr %q", p.Host, p.Port, p.Addr)
		}
		r := p.Stop()
		if r.Err != nil || r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "stdin closed" {
			t.Errorf("stop: %s", r)
		}
		if again := p.Stop(); again.Stdout != r.Stdout || again.ExitCode != r.ExitCode {
			t.Errorf("second Stop: %s", again)
		}
	})
	t.Run("kill", func(t *testing.T) {
		p := env.Serve(t, SyncPublisher)
		if r := p.Kill(); r.ExitCode != -1 || r.Err == nil {
			t.Errorf("kill: exit %d, %v", r.ExitCode, r.Err)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		r := env.Start(t, RPCServer, "--targets", "bogus").Wait(t)
		if r.ExitCode != 2 || !strings.Contains(r.Stderr, "unknown target kind 'bogus'") {
			t.Errorf("bad target: %s", r)
		}
	})
	t.Run("run", func(t *testing.T) {
		r := env.Run(t, RPCClient, "127.0.0.1", "1", "lda", "--timeout", "2")
		if r.ExitCode != 1 || !strings.Contains(r.Stderr, "ConnectionRefusedError") {
			t.Errorf("client without a server: %s", r)
		}
	})
}

// SiPyCo is looked for only where SIGOCO_SIPYCO_PATH points: nothing in
// the repository depends on a tree beside it.
func TestSiPyCoPath(t *testing.T) {
	for _, v := range []string{"", "unset"} {
		if v == "unset" {
			t.Setenv("SIGOCO_SIPYCO_PATH", "")
			os.Unsetenv("SIGOCO_SIPYCO_PATH")
		} else {
			t.Setenv("SIGOCO_SIPYCO_PATH", v)
		}
		if got, where := sipycoPath(); got != "" || where != "SIGOCO_SIPYCO_PATH unset" {
			t.Errorf("SIGOCO_SIPYCO_PATH %q: path %q (%s), want none", v, got, where)
		}
	}
	t.Setenv("SIGOCO_SIPYCO_PATH", "/elsewhere")
	if got, _ := sipycoPath(); got != "/elsewhere" {
		t.Errorf("SIGOCO_SIPYCO_PATH set: path %q", got)
	}
}

// ciRecorder records how Python ended a test instead of ending it.
type ciRecorder struct {
	testing.TB
	fatal, skip string
}

type stopped struct{}

func (r *ciRecorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	panic(stopped{})
}

func (r *ciRecorder) Skip(args ...any) {
	r.skip = fmt.Sprint(args...)
	panic(stopped{})
}

// Without SiPyCo a test skips, in CI too, with the reason; with
// SIGOCO_SIPYCO_PATH set to a tree that cannot be run it fails.
func TestMissingSiPyCo(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: runs python3 (the -short skip comes first in Python)")
	}
	run := func() *ciRecorder {
		r := &ciRecorder{TB: t}
		func() {
			defer func() {
				if v := recover(); v != nil {
					if _, ok := v.(stopped); !ok {
						panic(v)
					}
				}
			}()
			Python(r)
		}()
		return r
	}
	t.Setenv("CI", "true")
	t.Setenv("SIGOCO_SIPYCO_PATH", filepath.Join(t.TempDir(), "nonexistent"))
	r := run()
	if r.fatal == "" && r.skip == "" {
		t.Skip("sipyco is installed in python3's own packages, so no path makes the probe fail")
	}
	if r.skip != "" || !strings.Contains(r.fatal, "fails instead of skipping") || !strings.Contains(r.fatal, "nonexistent") {
		t.Errorf("SIGOCO_SIPYCO_PATH set: fatal %q, skip %q", r.fatal, r.skip)
	}
	t.Setenv("SIGOCO_SIPYCO_PATH", "")
	os.Unsetenv("SIGOCO_SIPYCO_PATH")
	r = run()
	if r.fatal == "" && r.skip == "" {
		t.Skip("sipyco is installed in python3's own packages")
	}
	if r.fatal != "" || !strings.HasPrefix(r.skip, "skipping: "+skipHint) || !strings.Contains(r.skip, "SIGOCO_SIPYCO_PATH unset") {
		t.Errorf("CI=true, SIGOCO_SIPYCO_PATH unset: fatal %q, skip %q", r.fatal, r.skip)
	}
}
