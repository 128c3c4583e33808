package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/wire/auth"
)

// Optional: real SiPyCo. SiPyCo's own pc_rpc Client, with SimpleSSLConfig
// and a client certificate the access file maps to a runner, lists runs
// and tags one on trackd; with a trusted but unmapped certificate it
// cannot connect (closed without a word, as SiPyCo's servers do).
func TestSiPyCoClientCertificate(t *testing.T) {
	env := sipycotest.Python(t)
	t.Setenv(auth.EnvToken, "")
	srv, lab, stranger := testcert.New(t, "server"), testcert.New(t, "labpc"), testcert.New(t, "stranger")
	pool := filepath.Join(t.TempDir(), "clients.pem")
	a, _ := os.ReadFile(lab.CertFile)
	b, _ := os.ReadFile(stranger.CertFile)
	os.WriteFile(pool, append(a, b...), 0o600)
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...),
		"--tls-cert", srv.CertFile, "--tls-key", srv.KeyFile, "--tls-peer-cert", pool)
	defer d.stop(t)
	ctx := ctxT(t, 120*time.Second)
	run := func(p testcert.Pair, calls ...string) (string, error) {
		args := append(append([]string{"127.0.0.1", port, "tracker"}, calls...), "--ssl", p.CertFile, p.KeyFile, srv.CertFile)
		out, err := env.Command(ctx, sipycotest.RPCCall, args...).CombinedOutput()
		return string(out), err
	}
	out, err := run(lab, `["list_runs", [{}]]`)
	if err != nil {
		t.Fatalf("SiPyCo Client with a mapped certificate: %v\n%s", err, out)
	}
	var res struct {
		Method  string `json:"method"`
		OK      bool   `json:"ok"`
		Class   string `json:"class"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &res); err != nil || !res.OK {
		t.Fatalf("list_runs by certificate: %s (%v)", out, err)
	}
	if out, err := run(stranger, `["list_runs", [{}]]`); err == nil {
		t.Errorf("SiPyCo Client with an unmapped certificate was served: %s", out)
	}
	if t.Failed() {
		t.Logf("trackd:\n%s", d.stderr)
	}
}
