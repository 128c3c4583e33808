package rpc

import (
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
)

// TestSiPyCoReplayServer plays each recorded session's client side to a Go
// server built like the recorded one (startReplayServer) and compares the
// Go server's answers with SiPyCo's, case by case, as sipycoReplayTable
// says.
func TestSiPyCoReplayServer(t *testing.T) {
	for _, s := range sipycoRecording(t) {
		t.Run(s.name, func(t *testing.T) {
			ts := startReplayServer(t, s.name)
			for _, conn := range s.conns {
				replayServerConn(t, ts, s.name, conn)
			}
		})
	}
}

// replayServerConn plays one recorded connection to ts.
func replayServerConn(t *testing.T, ts *testServer, session string, cases []*replayCase) {
	rc := ts.raw(t)
	var requests []string // client lines after the target line, in order
	clientLines, serverLines := 0, 0
	closed := false // sigoco closed the connection (a divergent "close")
	for _, c := range cases {
		key := session + "/" + c.name
		e := replayEntryFor(t, key)
		if closed {
			if c.text("server") == "" && !c.eof("server") {
				continue // the client's own EOF after SiPyCo closed
			}
			if e.server != divergent || e.goServer != "close" {
				t.Errorf("%s: sigoco closed the connection before this case, which the table does not say", key)
			}
			continue
		}
		for _, l := range lines(c.text("client")) {
			if clientLines >= 2 {
				requests = append(requests, l)
			}
			clientLines++
		}
		if data := c.text("client"); data != "" {
			rc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(rc, data); err != nil && !(e.server == divergent && e.goServer == "close") {
				t.Fatalf("%s: writing the client's bytes: %v", key, err)
			}
		}
		if c.eof("client") {
			rc.Conn.(*net.TCPConn).CloseWrite()
		}
		rc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if e.server == divergent && e.goServer != "" {
			closed = replayDivergent(t, rc, key, e)
		} else {
			for _, want := range lines(c.text("server")) {
				got, err := rc.r.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: reading the reply SiPyCo sent as %.100s: %v", key, want, err)
				}
				var request string
				if serverLines >= 2 && serverLines-2 < len(requests) {
					request = requests[serverLines-2]
				}
				compareServerLine(t, key, serverLines, request, e.server, want, got)
				serverLines++
			}
		}
		if !closed && (c.eof("server") || c.eof("client")) {
			// SiPyCo closed here (on its own, or after the client's EOF);
			// sigoco must too, without a further byte.
			if b, err := rc.r.ReadByte(); err == nil {
				rest, _ := rc.r.ReadString('\n')
				t.Errorf("%s: SiPyCo closed the connection; sigoco sent %q", key, string(b)+rest)
			} else if !errors.Is(err, io.EOF) && !isSilentClose(err) {
				t.Errorf("%s: waiting for sigoco to close: %v", key, err)
			}
			closed = true
		}
	}
}

// replayDivergent checks what sigoco does in a divergent case, and
// reports whether it closed the connection.
func replayDivergent(t *testing.T, rc *rawConn, key string, e replayEntry) bool {
	t.Helper()
	line, err := rc.r.ReadString('\n')
	if e.goServer == "refuse" {
		// sigoco's accept loop says why before closing.
		if err != nil || !strings.HasPrefix(line, "SIGOCO error: ") {
			t.Errorf("%s: sigoco should refuse with a SIGOCO error line, it sent %q (%v)", key, line, err)
		}
		if _, err := rc.r.ReadByte(); err == nil {
			t.Errorf("%s: sigoco sent more after its refusal", key)
		}
		return true
	}
	if e.goServer == "close" {
		if err == nil {
			t.Errorf("%s: sigoco should close the connection, it sent %.200s", key, line)
		}
		return true
	}
	if err != nil {
		t.Fatalf("%s: sigoco should answer (%s): %v", key, e.goServer, err)
	}
	m, _ := decodeLine(t, line).(map[string]any)
	if cls, ok := failedClass(e.goServer); ok {
		x, _ := m["exception"].(map[string]any)
		if m["status"] != "failed" || x["class"] != cls {
			t.Errorf("%s: sigoco should fail with %s, it sent %.300s", key, cls, line)
		}
		return false
	}
	if m["status"] != "ok" || !sipycoEqual(m["ret"], e.goRet) {
		t.Errorf("%s: sigoco should return %s, it sent %.300s", key, pyon.Repr(e.goRet), line)
	}
	return false
}

// compareServerLine compares the Go server's n-th line on a connection
// (0 the identification, 1 the target selection answer, then replies,
// each to request) with the recorded one.
func compareServerLine(t *testing.T, key string, n int, request string, v replayVerdict, want, got string) {
	t.Helper()
	w, g := decodeLine(t, want), decodeLine(t, got)
	switch {
	case n == 1:
		wn, gn := toStrings(w), toStrings(g)
		if v == classOnly {
			wn = slices.DeleteFunc(wn, func(s string) bool { return strings.HasPrefix(s, "__") })
			for i, name := range wn {
				if r := renamedMethods[name]; r != "" {
					wn[i] = r
				}
			}
		}
		slices.Sort(wn)
		slices.Sort(gn)
		if _, ok := g.(pyon.Set); !ok || !slices.Equal(wn, gn) {
			t.Errorf("%s: selection answer %v, want the set of %v", key, gn, wn)
		}
	case strings.Contains(request, `"get_rpc_method_list"`):
		compareMethodList(t, key, w, g)
	case n >= 2:
		compareReply(t, key, v, w, g)
	default:
		if !sipycoEqual(g, w) {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
}

// renamedMethods maps a recorded method name to sigoco's, from the
// table's goName entries.
var renamedMethods = func() map[string]string {
	m := map[string]string{}
	for key, e := range sipycoReplayTable {
		if e.goName != "" {
			m[key[strings.LastIndex(key, "/")+1:]] = e.goName
		}
	}
	return m
}()

// compareReply compares {"status": "ok", "ret"} or {"status": "failed",
// "exception": {class, message, traceback}}. A traceback is only checked
// to be a list of strings: its paths and lines are SiPyCo's; sigoco's is
// empty except for a panic's.
func compareReply(t *testing.T, key string, v replayVerdict, want, got any) {
	t.Helper()
	wm, _ := want.(map[string]any)
	gm, _ := got.(map[string]any)
	if gm["status"] != wm["status"] {
		t.Errorf("%s: reply %s, want %s", key, pyon.Repr(got), pyon.Repr(want))
		return
	}
	if wm["status"] == "ok" {
		if !sipycoEqual(gm["ret"], wm["ret"]) {
			t.Errorf("%s: ret %.300s, want %.300s", key, pyon.Repr(gm["ret"]), pyon.Repr(wm["ret"]))
		}
		return
	}
	wx, _ := wm["exception"].(map[string]any)
	gx, _ := gm["exception"].(map[string]any)
	tb, ok := gx["traceback"].([]any)
	if !ok || len(toStrings(tb)) != len(tb) {
		t.Errorf("%s: traceback %#v is not a list of strings", key, gx["traceback"])
	}
	if gx["class"] != wx["class"] || (v == exact && gx["message"] != wx["message"]) {
		t.Errorf("%s: exception %v: %q, want %v: %q", key, gx["class"], gx["message"], wx["class"], wx["message"])
	}
}

// compareMethodList compares a get_rpc_method_list reply method by
// method, each as its table entry says.
func compareMethodList(t *testing.T, key string, want, got any) {
	t.Helper()
	wr, _ := want.(map[string]any)["ret"].(map[string]any)
	gr, _ := got.(map[string]any)["ret"].(map[string]any)
	if wr == nil || gr == nil {
		t.Fatalf("%s: method list %.300s, want %.300s", key, pyon.Repr(got), pyon.Repr(want))
	}
	if !sipycoEqual(gr["docstring"], wr["docstring"]) {
		t.Errorf("%s: docstring %q, want %q", key, gr["docstring"], wr["docstring"])
	}
	wms, _ := wr["methods"].(map[string]any)
	gms, _ := gr["methods"].(map[string]any)
	seen := map[string]bool{}
	for name, we := range wms {
		e := replayEntryFor(t, key+"/"+name)
		goName := name
		if e.goName != "" {
			goName = e.goName
		}
		seen[goName] = true
		wt, _ := we.(pyon.Tuple)
		gt, _ := gms[goName].(pyon.Tuple)
		if len(wt) != 2 || len(gt) != 2 {
			t.Errorf("%s/%s: (argspec, doc) %s, want %s", key, name, pyon.Repr(gms[goName]), pyon.Repr(we))
			continue
		}
		if !sipycoEqual(gt[1], wt[1]) {
			t.Errorf("%s/%s: doc %q, want %q", key, name, gt[1], wt[1])
		}
		wspec := map[string]any{}
		for k, v := range wt[0].(map[string]any) {
			wspec[k] = v
		}
		for k, v := range e.argspec {
			wspec[k] = v
		}
		if !sipycoEqual(gt[0], wspec) {
			t.Errorf("%s/%s: argspec\n%s\nwant\n%s", key, name, pyon.Repr(gt[0]), pyon.Repr(wspec))
		}
		if e.server == exact && e.argspec != nil {
			t.Errorf("%s/%s: exact in the table, but with argspec changes", key, name)
		}
	}
	for name := range gms {
		if !seen[name] {
			t.Errorf("%s: sigoco lists %s, which SiPyCo does not", key, name)
		}
	}
}
