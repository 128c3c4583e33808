package sipycotest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/syncstruct"
)

// rpcLinesMatch compares a line SiPyCo's server sent now with the
// recorded one, as the recordings' README says: as PYON values (key and
// set order aside); for a failed call the exception's class and message
// exactly and the traceback only as a list of strings, empty where the
// recorded one is (its paths and line numbers are the recorder's). PYON
// v1 lines (the pyon_v1 session) compare as text.
func rpcLinesMatch(got, want string) bool {
	if got == want {
		return true
	}
	g, err1 := pyon.Decode([]byte(got))
	w, err2 := pyon.Decode([]byte(want))
	if err1 != nil || err2 != nil {
		// PYON v1: the target selection's answer is a Python set
		// literal of names, in CPython's string-hash order.
		gs, ws := v1Names(got), v1Names(want)
		return gs != nil && slices.Equal(gs, ws)
	}
	gm, ok1 := g.(map[string]any)
	wm, ok2 := w.(map[string]any)
	if ok1 && ok2 && wm["status"] == "failed" {
		ge, _ := gm["exception"].(map[string]any)
		we, _ := wm["exception"].(map[string]any)
		if gm["status"] != "failed" || ge == nil || we == nil || ge["class"] != we["class"] || ge["message"] != we["message"] {
			return false
		}
		gt, ok1 := ge["traceback"].([]any)
		wt, ok2 := we["traceback"].([]any)
		if !ok1 || !ok2 || (len(gt) == 0) != (len(wt) == 0) {
			return false
		}
		for _, l := range gt {
			if _, ok := l.(string); !ok {
				return false
			}
		}
		return true
	}
	gn, err1 := syncstruct.Normalize(g)
	wn, err2 := syncstruct.Normalize(w)
	return err1 == nil && err2 == nil && syncstruct.Equal(gn, wn)
}

// v1Names returns the sorted names of a PYON v1 set of strings such as
// {"echo", "add"}, or nil.
func v1Names(line string) []string {
	inner, ok1 := strings.CutPrefix(line, "{")
	inner, ok2 := strings.CutSuffix(inner, "}")
	if !ok1 || !ok2 {
		return nil
	}
	var names []string
	for _, e := range strings.Split(inner, ", ") {
		n, ok1 := strings.CutPrefix(e, `"`)
		n, ok2 := strings.CutSuffix(n, `"`)
		if !ok1 || !ok2 || strings.ContainsAny(n, `"\`) {
			return nil
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// TestRPCServerMatchesRecording replays every recorded pc_rpc session's
// client bytes, as recorded, to a SiPyCo server (at SIGOCO_SIPYCO_PATH)
// with the recording's targets (rpc_recorded_server.py; the single
// server for rpc_autotarget_single): each reply must match the recorded
// one (rpcLinesMatch), and the server must close where it closed.
func TestRPCServerMatchesRecording(t *testing.T) {
	env := Python(t)
	chunks := recording[chunk](t, "sipyco_pc_rpc.jsonl")
	var sessions []string
	for _, c := range chunks {
		if c.Session == "" {
			t.Fatalf("%s is the old recording (no sessions): copy ../shared/sipyco-wire/sipyco_pc_rpc.jsonl there", recordingDirs["sipyco_pc_rpc.jsonl"])
		}
		if !contains(sessions, c.Session) {
			sessions = append(sessions, c.Session)
		}
	}
	lines := 0
	for _, sess := range sessions {
		t.Run(sess, func(t *testing.T) {
			var args []string
			if sess == "rpc_autotarget_single" {
				args = append(args, "--single")
			}
			srv := env.Serve(t, RPCRecorded, args...)
			type conn struct {
				c       net.Conn
				r       *bufio.Reader
				pending string // recorded server text not yet a whole line
			}
			conns := map[int]*conn{}
			for _, ch := range chunks {
				if ch.Session != sess {
					continue
				}
				cn := conns[ch.Conn]
				if cn == nil {
					c, err := net.Dial("tcp", srv.Addr)
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(env.timeout()))
					cn = &conn{c: c, r: bufio.NewReader(c)}
					conns[ch.Conn] = cn
				}
				switch {
				case ch.Dir == "client" && !ch.EOF:
					cn.c.Write(ch.bytes(t)) // (after the server closed, a write may fail)
				case ch.Dir == "client":
					cn.c.(*net.TCPConn).CloseWrite()
				case !ch.EOF:
					// Chunk boundaries are not part of the contract: compare
					// the lines that are complete.
					cn.pending += string(ch.bytes(t))
					for {
						want, rest, ok := strings.Cut(cn.pending, "\n")
						if !ok {
							break
						}
						cn.pending = rest
						got, err := cn.r.ReadString('\n')
						if err != nil {
							t.Fatalf("%s: reading the reply: %q, %v; recorded %.300q", ch.Case, got, err, want)
						}
						if !rpcLinesMatch(strings.TrimSuffix(got, "\n"), want) {
							t.Errorf("%s: SiPyCo's server sent\n%.400s\nrecorded\n%.400s", ch.Case, got, want)
						}
						lines++
					}
				default:
					b, err := io.ReadAll(cn.r)
					if len(b) != 0 || (err != nil && !isReset(err) && !errors.Is(err, io.EOF)) {
						t.Errorf("%s: SiPyCo's server sent %.300q, %v; recorded a close", ch.Case, b, err)
					}
				}
			}
		})
	}
	t.Logf("%d sessions, %d reply lines compared", len(sessions), lines)
}
