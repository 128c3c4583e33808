package sipycosuite

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// suiteCase is one of SiPyCo's test cases, run against a sigoco peer.
type suiteCase struct {
	id      string // below sipyco.test: module.Class.method
	variant string // which sigoco peer, when a case can meet several
	skip    string // why the case cannot apply to a sigoco peer
}

func (c suiteCase) name() string {
	if c.variant != "" {
		return c.id + "/" + c.variant
	}
	return c.id
}

// cases lists every test case of SiPyCo's test_pc_rpc, test_sync_struct,
// test_logging and test_rpctool (generic_rpc has none of its own: it is a
// base class for other packages' tests). TestSiPyCoSuite checks the list
// against the SiPyCo tree, so a case SiPyCo adds is not silently left out.
var cases = []suiteCase{
	// Keep docs/sipyco.md's table "SiPyCo's own tests against sigoco" in
	// step with this list.
	{id: "test_pc_rpc.RPCCase.test_blocking_echo"},
	{id: "test_pc_rpc.RPCCase.test_blocking_echo_autotarget"},
	{id: "test_pc_rpc.RPCCase.test_blocking_echo_ssl"},
	{id: "test_pc_rpc.RPCCase.test_blocking_echo_ssl_invalid_certs"},
	{id: "test_pc_rpc.RPCCase.test_sys_exit"},
	{id: "test_pc_rpc.RPCCase.test_asyncio_echo"},
	{id: "test_pc_rpc.RPCCase.test_asyncio_echo_autotarget"},
	{id: "test_pc_rpc.RPCCase.test_asyncio_echo_ssl"},
	{id: "test_pc_rpc.RPCCase.test_asyncio_echo_ssl_invalid_certs"},
	{id: "test_pc_rpc.RPCCase.test_rpc_encode_function", skip: "tests pc_rpc.Server._document_function on a " +
		"Python function (argspec, PYON round trip) in-process; no peer is involved. The Go server's " +
		"method listing is exercised by every echo case (the client's method check) and by rpc's own tests"},
	{id: "test_sync_struct.SyncStructCase.test_recv"},
	{id: "test_sync_struct.SyncStructCase.test_recv_ssl"},
	{id: "test_logging.LoggingCase.test_logging", variant: "go-server"},
	{id: "test_logging.LoggingCase.test_logging", variant: "go-forwarder"},
	{id: "test_logging.LoggingCase.test_logging_ssl", variant: "go-server"},
	{id: "test_logging.LoggingCase.test_logging_ssl", variant: "go-forwarder"},
	{id: "test_rpctool.TestRPCTool.test_rpc"},
	{id: "test_rpctool.TestRPCTool.test_rpc_ssl"},
}

// suiteResult is the harness's last line.
type suiteResult struct {
	Case    string `json:"case"`
	Outcome string `json:"outcome"` // pass, fail, error, skip
	Details string `json:"details"`
}

// TestSiPyCoSuite runs each of SiPyCo's own test cases that exercises a
// peer against the sigoco peer equivalent to the Python one it starts.
func TestSiPyCoSuite(t *testing.T) {
	env := sipycotest.Python(t)
	t.Logf("SiPyCo %s, %s", env.SiPyCo, env.Versions)

	t.Run("case list", func(t *testing.T) {
		r := env.Run(t, sipycotest.Suite, "--list")
		if r.Err != nil {
			t.Fatalf("listing SiPyCo's test cases: %s", r)
		}
		var ids []string
		r.JSON(t, &ids)
		var ours []string
		for _, c := range cases {
			if !slices.Contains(ours, c.id) {
				ours = append(ours, c.id)
			}
		}
		for _, id := range ids {
			if !slices.Contains(ours, id) {
				t.Errorf("SiPyCo has test case %s, which the suite does not list (run it or skip it with the reason)", id)
			}
		}
		for _, id := range ours {
			if !slices.Contains(ids, id) {
				t.Errorf("the suite lists %s, which SiPyCo's tests do not have", id)
			}
		}
	})

	for _, c := range cases {
		t.Run(c.name(), func(t *testing.T) {
			if c.skip != "" {
				t.Skip("cannot apply to a sigoco peer: " + c.skip)
			}
			res := runCase(t, env, c)
			switch res.Outcome {
			case "pass":
			case "skip":
				t.Skipf("SiPyCo skipped it: %s", res.Details)
			default:
				why := "a sigoco peer does not behave as SiPyCo's"
				t.Errorf("SiPyCo's %s against sigoco: %s — %s\n%s", c.id, strings.ToUpper(res.Outcome), why, res.Details)
			}
		})
	}
}

// runCase runs the harness for one case, answering its requests for sigoco
// peers, and returns its result.
func runCase(t *testing.T, env sipycotest.Env, c suiteCase) suiteResult {
	args := []string{c.id}
	if c.variant != "" {
		args = append(args, "--variant", c.variant)
	}
	p := env.Start(t, sipycotest.Suite, args...)
	h := &harness{t: t, p: p}
	t.Cleanup(h.stopAll)
	for {
		line := p.Line(t)
		switch {
		case strings.HasPrefix(line, "req "):
			var req request
			if err := json.Unmarshal([]byte(line[4:]), &req); err != nil {
				t.Fatalf("harness request %q: %v", line, err)
			}
			reply := h.handle(&req)
			b, err := json.Marshal(reply)
			if err != nil {
				t.Fatalf("encoding reply %v: %v", reply, err)
			}
			p.Send(t, string(b))
		case strings.HasPrefix(line, "result "):
			var res suiteResult
			if err := json.Unmarshal([]byte(line[7:]), &res); err != nil {
				t.Fatalf("harness result %q: %v", line, err)
			}
			if r := p.Wait(t); r.ExitCode != 0 {
				t.Errorf("harness exited with %d: %s", r.ExitCode, r)
			}
			return res
		default:
			t.Logf("harness: %s", line)
		}
	}
}

// request is one harness request (see sipyco_suite.py).
type request struct {
	Op        string            `json:"op"`
	Kind      string            `json:"kind"`      // rpc_server: echo, rpctool
	SSL       []string          `json:"ssl"`       // cert, key, peer cert: SimpleSSLConfig's files
	Notifiers map[string]string `json:"notifiers"` // sync_start: name → PYON tree
	Notifier  string            `json:"notifier"`  // sync_mod
	Mod       string            `json:"mod"`       // sync_mod: PYON
	Addr      []any             `json:"addr"`      // fwd_log: host, port
	Source    string            `json:"source"`    // fwd_log
	Name      string            `json:"name"`      // fwd_log
	Level     int               `json:"level"`     // fwd_log: Python level
	Message   string            `json:"message"`   // fwd_log
}

// harness holds the sigoco peers one case asked for. Its methods run on
// the test goroutine, except where they say otherwise.
type harness struct {
	t   *testing.T
	p   *sipycotest.Proc
	rpc *rpcPeer
	pub *syncPeer
	log *logServerPeer
	fwd *forwarderPeer
}

func (h *harness) handle(req *request) map[string]any {
	reply, err := h.dispatch(req)
	if err != nil {
		h.t.Logf("%s: %v", req.Op, err)
		return map[string]any{"error": err.Error()}
	}
	if reply == nil {
		reply = map[string]any{}
	}
	return reply
}

func (h *harness) dispatch(req *request) (map[string]any, error) {
	switch req.Op {
	case "rpc_server":
		return h.startRPC(req)
	case "rpc_stop":
		return h.stopRPC()
	case "sync_start":
		return h.startSync(req)
	case "sync_mod":
		return nil, h.syncMod(req)
	case "sync_stop":
		return nil, h.stopSync()
	case "log_server":
		return h.startLogServer(req)
	case "log_stop":
		return nil, h.stopLogServer()
	case "fwd_log":
		return nil, h.forward(req)
	case "fwd_stop":
		return nil, h.stopForwarder()
	}
	return nil, fmt.Errorf("unknown request %q", req.Op)
}

// stopAll stops whatever peers the case left running (a case that failed
// half-way).
func (h *harness) stopAll() {
	if h.rpc != nil {
		h.rpc.close()
	}
	if h.pub != nil {
		h.pub.close()
	}
	if h.log != nil {
		h.log.close()
	}
	if h.fwd != nil {
		h.fwd.close()
	}
}
