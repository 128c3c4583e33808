package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/memo"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// TestClientsWithTokenAndCertificate: each of sigoco's clients — track
// (and so simsvc's tracking, which is a track.Run), memo's track storage,
// the jobs client and rpctool — works against a trackd with an access file
// over TLS both with a runner's token (no client certificate) and with a
// client certificate the access file maps (no token); with a trusted but
// unmapped certificate each is refused.
func TestClientsWithTokenAndCertificate(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	srv, lab, stranger := testcert.New(t, "server"), testcert.New(t, "labpc"), testcert.New(t, "stranger")
	pool := filepath.Join(t.TempDir(), "clients.pem")
	a, _ := os.ReadFile(lab.CertFile)
	b, _ := os.ReadFile(stranger.CertFile)
	os.WriteFile(pool, append(a, b...), 0o600)
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...), "--demo",
		"--tls-cert", srv.CertFile, "--tls-key", srv.KeyFile, "--tls-peer-cert", pool)
	defer d.stop(t)
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
	rpctoolBin := ""
	if !testing.Short() {
		rpctoolBin = filepath.Join(t.TempDir(), "rpctool")
		if out, err := exec.Command("go", "build", "-o", rpctoolBin, "github.com/sigoco/sigoco/rpctool").CombinedOutput(); err != nil {
			t.Fatalf("building rpctool: %v\n%s", err, out)
		}
	}
	type creds struct {
		name  string
		cert  *testcert.Pair
		token string
		ok    bool
	}
	for _, cr := range []creds{
		{"token", nil, runnerToken, true},
		{"certificate", &lab, "", true},
		{"unmapped certificate", &stranger, "", false},
	} {
		t.Run(cr.name, func(t *testing.T) {
			// Each client gets its own deadline: a refused one may take
			// the refusal for an outage and retry (track spools), which
			// must not leave the others no time to be refused on their own.
			opCtx := func() context.Context {
				if cr.ok {
					return ctxT(t, 90*time.Second)
				}
				return ctxT(t, 8*time.Second)
			}
			tc := clientTLS(cr.cert)
			check := func(what string, err error) {
				t.Helper()
				if cr.ok && err != nil {
					t.Errorf("%s: %v", what, err)
				}
				if !cr.ok && err == nil {
					t.Errorf("%s: served with an unmapped certificate", what)
				}
			}

			// track (simsvc's tracking is a track.Run with these options).
			ctx := opCtx()
			run, err := track.Start(ctx, track.Options{Project: "auth", Addr: addr, TLS: tc, Token: cr.token,
				SpoolDir: t.TempDir(), NoMetadata: true, Logger: testLogger(t)})
			if err == nil {
				run.LogParam("p", 1)
				err = run.Flush(ctx)
				run.End(ctx, track.StatusFinished)
			}
			check("track", err)

			// memo's track storage: save, then read back.
			ctx = opCtx()
			st, err := memo.OpenTrack(ctx, addr, memo.TrackOptions{Project: "auth", TLS: tc, Token: cr.token})
			if err == nil {
				key := memo.Key{Name: "f", Params: fmt.Sprint(cr.name)}
				if err = st.Save(ctx, &memo.Entry{Key: key, Value: 2.5, Computed: time.Now().UTC()}); err == nil {
					_, err = st.Load(ctx, key)
				}
				st.Close()
			}
			check("memo", err)

			// the jobs client: the demo's solvers.
			ctx = opCtx()
			jc, err := jobs.Dial(ctx, addr, jobs.ClientOptions{TLS: tc, Token: cr.token})
			if err == nil {
				var ss []jobs.Solver
				if ss, err = jc.ListSolvers(ctx); err == nil && len(ss) == 0 {
					err = fmt.Errorf("no solvers listed")
				}
				jc.Close()
			}
			check("jobs", err)

			// rpctool.
			if rpctoolBin == "" {
				return
			}
			args := []string{"--tls-peer-cert", srv.CertFile}
			if cr.cert != nil {
				args = append(args, "--tls-cert", cr.cert.CertFile, "--tls-key", cr.cert.KeyFile)
			}
			if cr.token != "" {
				args = append(args, "--token", cr.token)
			}
			args = append(args, addr, "call", "-t", "tracker", "list_runs", "{}")
			out, err := exec.CommandContext(opCtx(), rpctoolBin, args...).CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%v: %s", err, out)
			}
			check("rpctool", err)
		})
	}
	if t.Failed() {
		t.Logf("trackd:\n%s", d.stderr)
	}
}
