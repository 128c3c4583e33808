package rpc

import (
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/internal/sipycotest"
)

// Optional tests against real SiPyCo (skipped, saying why, when python3
// with SiPyCo and numpy is not available; see internal/sipycotest).

// pyDescribed is sipycotest_common.describe's view of a Python value.
type pyDescribed struct {
	Type  string `json:"type"`
	Repr  string `json:"repr"`
	JSON  any    `json:"json"`
	PYON  string `json:"pyon"`
	DType string `json:"dtype"`
}

// pyRPCSummary is rpc_client.py's output.
type pyRPCSummary struct {
	Client         string            `json:"client"`
	Targets        []string          `json:"targets"`
	Description    *string           `json:"description"`
	SelectedTarget string            `json:"selected_target"`
	Signatures     map[string]string `json:"signatures"`
	Steps          []string          `json:"steps"`
	FailedSteps    []string          `json:"failed_steps"`
	Results        map[string]struct {
		Call      string       `json:"call"`
		OK        bool         `json:"ok"`
		Pass      bool         `json:"pass"`
		Ret       *pyDescribed `json:"ret"`
		Exception *struct {
			Class     string   `json:"class"`
			Message   string   `json:"message"`
			Traceback []string `json:"traceback"`
			Remote    bool     `json:"remote"`
		} `json:"exception"`
	} `json:"results"`
}

// expectedPyFailures are the steps of rpc_client.py a Go target cannot
// pass, because Go has no default parameter values: add(4) relies on
// Python's b=1, and the script checks add's signature to be exactly
// "(self, a, b=1, *, scale=1)".
var expectedPyFailures = map[string][]string{
	"sync":       {"get_rpc_method_list", "add_default"},
	"async":      {"add_default"},
	"besteffort": {"add_default"},
}

// SiPyCo's Client, AsyncioClient and BestEffortClient run the recorded
// call sequence (and every PYON type) against the Go server.
func TestSiPyCoPythonClients(t *testing.T) {
	env := sipycotest.Python(t)
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startController(t, tr, ServerOptions{})
		var tlsArgs []string
		if tr.server != nil {
			p := certsFor(t)
			tlsArgs = []string{"--ssl", p.client.CertFile, p.client.KeyFile, p.server.CertFile}
		}
		host, port := splitAddr(t, ts.addr)
		for _, client := range []string{"sync", "async", "besteffort"} {
			t.Run(client, func(t *testing.T) {
				var out pyRPCSummary
				r := env.RunJSON(t, &out, sipycotest.RPCClient, append([]string{host, port, "lda", "--client", client}, tlsArgs...)...)
				if !slices.Equal(out.FailedSteps, expectedPyFailures[client]) {
					b, _ := json.MarshalIndent(out.Results, "", "  ")
					t.Fatalf("failed steps %v, want %v\n%s\n%s", out.FailedSteps, expectedPyFailures[client], b, r.Stderr)
				}
				if len(out.Steps) < 50 {
					t.Errorf("ran %d steps: %v", len(out.Steps), out.Steps)
				}
				res := out.Results
				if e := res["add_default"].Exception; e == nil || e.Class != "TypeError" || !strings.Contains(e.Message, "missing argument 2 (b int)") {
					t.Errorf("add(4) raised %+v", e)
				}
				if e := res["fail"].Exception; e == nil || e.Class != "ValueError" || e.Message != "attenuation out of range" || !e.Remote {
					t.Errorf("fail() raised %+v", e)
				}
				if e := res["fail_custom"].Exception; e == nil || e.Class != "GenericRemoteException" || e.Message != "rpc.DeviceError: device not responding" {
					t.Errorf("fail_custom() raised %+v", e)
				}
				if e := res["bad_args"].Exception; e == nil || e.Class != "TypeError" || !e.Remote {
					t.Errorf("add() raised %+v", e)
				}
				if client != "sync" {
					return
				}
				if !slices.Equal(out.Targets, []string{"aux", "lda"}) || out.Description == nil || *out.Description != "transcript server" {
					t.Errorf("identification %v %v", out.Targets, out.Description)
				}
				// Python's own formatting of our argspecs.
				for m, want := range map[string]string{
					"add":             "(self, a: 'int', b: 'int', *, scale: 'int' = None) -> 'int'",
					"set_attenuation": "(self, db: 'float')",
					"get_attenuation": "(self) -> 'float'",
					"echo":            "(self, x)",
					"slow":            "(self, t: 'float') -> 'float'",
					"terminate":       "(self)",
				} {
					if got := out.Signatures[m]; got != want {
						t.Errorf("Python formats %s as %q, want %q", m, got, want)
					}
				}
			})
		}
	})
}

func splitAddr(t testing.TB, addr string) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}
