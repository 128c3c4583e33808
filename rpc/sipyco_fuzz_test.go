package rpc

import (
	"context"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

func seedSiPyCo(f *testing.F, dir string) {
	for _, s := range sipycoRecording(f) {
		for _, conn := range s.conns {
			for _, c := range conn {
				for _, l := range lines(c.text(dir)) {
					f.Add([]byte(l))
				}
			}
		}
	}
}

// Any request line gets one well-formed reply, and nothing panics.
func FuzzSiPyCoRequest(f *testing.F) {
	seedSiPyCo(f, "client")
	for _, s := range []string{
		pyCall("add", "1, 2", ""),
		pyCall("add", `1`, `"b": 2`),
		pyCall("greet", `"x"`, `"times": 2, "shout": true`),
		pyCall("pt", `{"x": 1.5, "tag": "a"}, null`, ""),
		pyCall("floats", `{"__jsonclass__": ["nparray", [[2], "<f8", "AAAAAAAA8D8AAAAAAAAAQA=="]]}, 2`, ""),
		pyCall("sum", `"s", 1, 2, 300`, ""),
		pyCall("nested", `{"a": [1.5]}, [[null]]`, ""),
		pyCall("ctx", "1", ""),
		pyCall("panic", `"boom"`, ""),
		pyCall("arg0", "", `"arg0": 1`),
		`{"action": "call", "name": "add", "args": [1, 2], "kwargs": {"__jsonclass__": ["dict", [[[1, 2]]]]}}`,
		`{"action": "get_rpc_method_list"}`,
		`{"action": 5}`,
		`[]`, `null`, `"x"`, `{'a': None}`, `{"a": Infinity}`,
	} {
		f.Add([]byte(s))
	}
	srv, err := NewServer(map[string]any{"f": fuzzTarget{}}, ServerOptions{MaxFrameSize: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	tgt := srv.targets["f"]
	f.Fuzz(func(t *testing.T, line []byte) {
		c := newServerConn(srv, &captureConn{})
		c.ctx = context.Background()
		c.tgt = tgt
		c.obj, c.tb, _ = tgt.instance()
		reply, terminate := c.sipycoRequest(nil, line)
		if terminate {
			t.Fatal("terminate without BuiltinTerminate")
		}
		v, err := pyon.Decode(reply)
		if err != nil {
			t.Fatalf("reply %q to %q: %v", reply, line, err)
		}
		m, _ := v.(map[string]any)
		switch m["status"] {
		case "ok":
			if _, ok := m["ret"]; !ok || len(m) != 2 {
				t.Fatalf("reply %q", reply)
			}
		case "failed":
			exc, _ := m["exception"].(map[string]any)
			cls, _ := exc["class"].(string)
			_, isList := exc["traceback"].([]any)
			if _, isStr := exc["message"].(string); !isStr || !isList || (!pyBuiltins[cls] && cls != pyGeneric) {
				t.Fatalf("reply %q", reply)
			}
		default:
			t.Fatalf("reply %q", reply)
		}
	})
}

// The handshake's target line never panics and accepts only pyon_v2.
func FuzzSiPyCoTargetLine(f *testing.F) {
	for _, s := range []string{"lda pyon_v2", "lda", "lda pyon_v2 pyon_v2", "lda  pyon_v2", " pyon_v2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		name, err := parseTargetLine(line)
		if err == nil && (!strings.HasPrefix(line, name+" ") || strings.ReplaceAll(line[len(name):], " pyon_v2", "") != "") {
			t.Fatalf("accepted %q as target %q", line, name)
		}
	})
}

// The client takes any reply line apart (and lists any method list)
// without panicking.
func FuzzSiPyCoReply(f *testing.F) {
	seedSiPyCo(f, "server")
	f.Add([]byte(`{"status": "failed", "exception": {"class": "X", "message": 5, "traceback": null}}`))
	f.Add([]byte(`{"status": "ok", "ret": {"methods": {"f": [{"args": "self", "defaults": [1, 2, 3], "kwonlyargs": ["a"], "kwonlydefaults": [], "annotations": {"a": 5}}, 3]}}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		ret, rerr, err := decodeSiPyCoReply(line, pyon.DecodeOptions{})
		if err != nil || rerr != nil {
			return
		}
		if _, err := sipycoTargetInfo("t", ret); err != nil {
			return
		}
		if m, ok := ret.(map[string]any); ok {
			formatArgspec(m)
		}
	})
}
