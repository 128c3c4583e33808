package simsvc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/simsvc"
)

// TestSiPyCoClient: SiPyCo's Python Client drives a Go service through
// its lifecycle (service function after init included) and its
// Subscriber follows the live status.
func TestSiPyCoClient(t *testing.T) {
	env := sipycotest.Python(t)
	_, addr := serve(t, newCounter(), simsvc.Options{Name: "counter"})
	host, port, _ := net.SplitHostPort(addr)
	script, err := filepath.Abs("testdata/sipyco_drive.py")
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.Python, script, host, port)
	pp := filepath.Dir(env.Script(sipycotest.RPCClient))
	if env.PythonPath != "" {
		pp += string(os.PathListSeparator) + env.PythonPath
	}
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pp, "PYTHONDONTWRITEBYTECODE=1", "PYTHONIOENCODING=utf-8")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v: %q", err, stdout.String())
	}
	if s, _ := got["early_step"].(string); !strings.Contains(s, "step not allowed in state REGISTERED") {
		t.Errorf("early step: %q", s)
	}
	delete(got, "early_step")
	if got["fresh_client_sees_add"] != true {
		t.Error("a SiPyCo Client connecting after init was not sent add in the handshake's method set")
	}
	delete(got, "fresh_client_sees_add")
	want := map[string]any{
		"status0": "REGISTERED", "before_init": false, "init1": false, "init2": true,
		"after_init": true, "add_argspec": []any{"self", "x"}, "start": true, "current_step": 3.0,
		"add": 5.5, "rate": 1.0, "rate2": 4.0, "properties": []any{"label", "rate"},
		"live":  map[string]any{"status": "SIM_RUNNING", "step": 3.0},
		"final": "SIM_FINISHED",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SiPyCo saw\n%v\nwant\n%v", got, want)
	}
}
