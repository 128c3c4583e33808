package sipycotest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// recordedLog is one line of sipyco_logging_records.jsonl: a record
// SiPyCo's log server parsed in a case.
type recordedLog struct {
	Session string `json:"session"`
	Case    string `json:"case"`
	Record  struct {
		Source    string `json:"source"`
		Name      string `json:"name"`
		LevelNo   int    `json:"levelno"`
		LevelName string `json:"levelname"`
		Message   string `json:"message"`
	} `json:"record"`
}

// nextForwarded returns the next record the log server parsed from a
// client (skipping the server's own warnings).
func nextForwarded(t *testing.T, srv *Proc) logRecord {
	t.Helper()
	for {
		var rec logRecord
		srv.JSONLine(t, &rec)
		if rec.Forwarded {
			return rec
		}
	}
}

func checkRecord(t *testing.T, where string, got logRecord, want recordedLog) {
	t.Helper()
	w := want.Record
	if got.Source == nil || *got.Source != w.Source || got.Name != w.Name || got.Level != w.LevelNo ||
		got.LevelName != w.LevelName || got.Message != w.Message {
		src := "<nil>"
		if got.Source != nil {
			src = *got.Source
		}
		t.Errorf("%s: SiPyCo's server parsed %q %q %d %s %.200q; recorded %q %q %d %s %.200q", where,
			src, got.Name, got.Level, got.LevelName, got.Message, w.Source, w.Name, w.LevelNo, w.LevelName, w.Message)
	}
}

// TestLogPythonToPython checks the logging recordings against the SiPyCo
// at SIGOCO_SIPYCO_PATH, both ways:
//   - every recorded session's client bytes, replayed as recorded into
//     SiPyCo's log server, make it parse the recorded records
//     (sipyco_logging_records.jsonl) and close where it closed, and
//     nothing else (a sentinel record comes next);
//   - SiPyCo's LogForwarder, given each recorded record of the forwarder
//     session (level, message, logger, source), sends the recorded bytes,
//     except for the records the server parsed as print lines (their
//     original level and logger are not in the record).
func TestLogPythonToPython(t *testing.T) {
	env := Python(t)
	chunks := recording[chunk](t, "sipyco_logging.jsonl")
	records := recording[recordedLog](t, "sipyco_logging_records.jsonl")
	srv := env.Serve(t, LogServer)

	var sessions []string
	for _, c := range chunks {
		if !contains(sessions, c.Session) {
			sessions = append(sessions, c.Session)
		}
	}
	replayed := 0
	for _, sess := range sessions {
		conn, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(env.timeout()))
		serverClosed := false
		for _, c := range chunks {
			if c.Session != sess {
				continue
			}
			switch {
			case c.Dir == "client" && !c.EOF:
				conn.Write(c.bytes(t)) // (after the server closed, a write may fail)
			case c.Dir == "client":
				conn.(*net.TCPConn).CloseWrite()
			default:
				b, err := io.ReadAll(conn)
				if len(b) != 0 || (err != nil && !isReset(err)) {
					t.Errorf("%s/%s: SiPyCo's server sent %q, %v; recorded a close without a word", sess, c.Case, b, err)
				}
				serverClosed = true
			}
		}
		if !serverClosed {
			t.Errorf("%s: the recording has no server close", sess)
		}
		conn.Close()
		for _, r := range records {
			if r.Session == sess {
				checkRecord(t, sess+"/"+r.Case, nextForwarded(t, srv), r)
				replayed++
			}
		}
	}
	sentinel, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(sentinel, "ARTIQ logging\nsentinel:INFO:end:end\n")
	sentinel.Close()
	if rec := nextForwarded(t, srv); rec.Message != "end" {
		t.Errorf("after the recorded sessions SiPyCo's server parsed %+v; want the sentinel", rec)
	}
	t.Logf("%d sessions replayed into SiPyCo's log server, %d records as recorded", len(sessions), replayed)

	// SiPyCo's LogForwarder, given the recorded records, sends the
	// recorded bytes.
	fwd := env.Start(t, LogForwarder, srv.Host, srv.PortArg(), "--no-records")
	var queued struct {
		Event string   `json:"event"`
		Lines []string `json:"lines"`
	}
	fwd.JSONLine(t, &queued) // the (empty) initial batch
	var cases []string
	sent := map[string]string{}
	for _, c := range chunks {
		if c.Session == "log_forwarder" && c.Dir == "client" && !c.EOF {
			if _, ok := sent[c.Case]; !ok {
				cases = append(cases, c.Case)
			}
			sent[c.Case] += strings.TrimPrefix(string(c.bytes(t)), "ARTIQ logging\n")
		}
	}
	matched, skipped := 0, 0
	for _, cs := range cases {
		var recs []recordedLog
		print := false
		for _, r := range records {
			if r.Session == "log_forwarder" && r.Case == cs {
				recs = append(recs, r)
				print = print || r.Record.Name == "print"
			}
		}
		if print {
			skipped++ // "Level 25:..." and a source with colons: parsed as print lines
			continue
		}
		var got string
		for _, r := range recs {
			w := r.Record
			line, _ := json.Marshal([]any{w.LevelNo, w.Message, w.Name, w.Source})
			fwd.Send(t, string(line))
			fwd.JSONLine(t, &queued)
			for _, l := range queued.Lines {
				got += l + "\n"
			}
		}
		if got != sent[cs] {
			t.Errorf("%s: SiPyCo's LogForwarder sends\n%.300q\nrecorded\n%.300q", cs, got, sent[cs])
		} else {
			matched++
		}
		for _, r := range recs {
			checkRecord(t, "forwarded "+cs, nextForwarded(t, srv), r)
		}
	}
	if r := fwd.Stop(); r.Err != nil {
		t.Errorf("forwarder: %s", r)
	}
	t.Logf("forwarder session: %d cases sent as recorded, %d skipped (print lines)", matched, skipped)
	if matched == 0 {
		t.Error("no case compared")
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// isReset reports a connection reset by the peer (a close with unread
// bytes), which is a close as well.
func isReset(err error) bool {
	return err != nil && strings.Contains(fmt.Sprint(err), "connection reset")
}
