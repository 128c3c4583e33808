package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
	"github.com/sigoco/sigoco/wire/auth"
)

// getRunAs reads a run's params and metadata as the admin.
func getRunAs(t *testing.T, ctx context.Context, addr, tok, id string) (params, meta map[string]any, err error) {
	t.Helper()
	c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var m map[string]any
	if err := c.CallInto(ctx, &m, "get_run", id); err != nil {
		return nil, nil, err
	}
	params, _ = m["params"].(map[string]any)
	meta, _ = m["metadata"].(map[string]any)
	return params, meta, nil
}

// TestRunCredential: the batch that creates a run hands its client the
// run's write credential, which the client keeps in its spool directory;
// with it alone (no token) a process writes that run — also after trackd
// restarts — and no other; a replay by a process holding another
// identity's token still writes the run with the spooled credential; a
// wrong credential is refused at the handshake.
func TestRunCredential(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	t.Setenv(track.EnvRunCredential, "")
	port, data := freePort(t), t.TempDir()
	access := writeAccess(t, accessLines()...)
	d := startTrackd(t, port, data, "--access", access)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 90*time.Second)
	spool := t.TempDir()
	run, err := track.Start(ctx, track.Options{Project: "cred", Addr: addr, Token: runnerToken, SpoolDir: spool, NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("p", 1)
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	id := run.ID()
	credPath := filepath.Join(spool, id, track.CredentialFile)
	b, err := os.ReadFile(credPath)
	if err != nil {
		t.Fatalf("no credential kept in the spool: %v", err)
	}
	cred := strings.TrimSpace(string(b))
	if fi, _ := os.Stat(credPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("credential file mode %v", fi.Mode())
	}
	_, meta, err := getRunAs(t, ctx, addr, adminToken, id)
	if err != nil {
		t.Fatal(err)
	}
	// The hashes of the run's credentials are the server's alone: no read
	// shows them (checked in the store below).
	if c, ok := meta["credential"]; ok {
		t.Errorf("get_run shows the run's credential hashes: %v", c)
	}
	if tc, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: adminToken}); err != nil {
		t.Fatal(err)
	} else {
		var exp string
		if err := tc.CallInto(ctx, &exp, "export_run", id); err != nil || strings.Contains(exp, "sha256:") || strings.Contains(exp, cred) {
			t.Errorf("export_run: %v, credential hashes shown: %v", err, strings.Contains(exp, "sha256:"))
		}
		tc.Close()
	}
	// Rita's own run, which the credential must not reach.
	other, err := track.Start(ctx, track.Options{Project: "cred", Addr: addr, Token: ritaToken, SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	other.LogParam("o", 1)
	if err := other.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	withCred, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: cred})
	if err != nil {
		t.Fatalf("dial with the credential: %v", err)
	}
	defer withCred.Close()
	// (seq 1: the run has it, so the batch stores nothing but is allowed;
	// a higher one would make the owner's next records look like replays)
	batch := func(run string) error {
		_, err := withCred.Call(ctx, "log_batch", store.Batch{Run: run, Records: []store.Record{{Seq: 1, Kind: store.KindTag, Key: "by-cred", Time: time.Now().UnixNano()}}},
			[]string{}, []int64{}, []int64{}, []int64{}, []int64{}, []float64{})
		return err
	}
	if err := batch(id); err != nil {
		t.Errorf("credential writing its run: %v", err)
	}
	if err := batch(other.ID()); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("credential writing another run: %v, want auth.ErrForbidden", err)
	}
	if err := batch(track.NewID()); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("credential starting a run: %v, want auth.ErrForbidden", err)
	}
	for _, m := range [][]any{{"add_tag", other.ID(), "x"}, {"delete_run", id}, {"delete_run", other.ID()}} {
		if _, err := withCred.Call(ctx, m[0].(string), m[1:]...); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("credential %v: %v, want auth.ErrForbidden", m, err)
		}
	}
	if _, err := withCred.Call(ctx, "add_tag", id, "tag-by-cred"); err != nil {
		t.Errorf("credential add_tag on its run: %v", err)
	}
	wrong := cred[:len(cred)-4] + "AAAA"
	if c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: wrong}); !errors.Is(err, auth.ErrUnauthenticated) {
		if c != nil {
			c.Close()
		}
		t.Errorf("a wrong credential: %v, want auth.ErrUnauthenticated", err)
	}
	withCred.Close()

	// The owner's process goes on spooling while trackd is down; then it
	// is gone (its spool stays), trackd restarts, and a replay by a
	// process holding rita's token writes the run with the spooled
	// credential.
	d.stop(t)
	if st, err := sqlite.Open(ctx, data, sqlite.Options{}); err != nil {
		t.Fatal(err)
	} else {
		b, err := st.RunValue(ctx, id, store.KindMeta, store.MetaCredential)
		if s := string(b); err != nil || strings.Contains(s, cred) || !strings.Contains(s, "sha256:") {
			t.Errorf("stored credential: %q %v", s, err)
		}
		st.Close()
	}
	run.LogParam("while-down", 2)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	run.End(short, track.StatusFinished) // spooled: the server is down
	cancel()
	other.End(short, track.StatusFinished)
	d = startTrackd(t, port, data, "--access", access)
	res, err := track.Replay(ctx, filepath.Join(spool, id), track.ReplayOptions{Addr: addr, Token: ritaToken})
	if err != nil || len(res) != 1 || res[0].Err != nil || res[0].Records == 0 {
		t.Fatalf("replay with rita's token: %+v %v", res, err)
	}
	params, _, err := getRunAs(t, ctx, addr, adminToken, id)
	if err != nil {
		t.Fatal(err)
	}
	if params["while-down"] == nil {
		t.Errorf("spooled param not stored: %v", params)
	}
	// The credential survives the restart.
	if c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: cred}); err != nil {
		t.Errorf("the credential after a restart: %v", err)
	} else {
		if _, err := c.Call(ctx, "add_tag", id, "after-restart"); err != nil {
			t.Errorf("add_tag with the credential after a restart: %v", err)
		}
		c.Close()
	}
	// A process that is killed; a new one holding only the credential
	// its predecessor kept resumes the run.
	childSpool := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,7,%s,hang", childEnv, addr, childSpool), auth.EnvToken+"="+runnerToken)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var ready, cid string
	if _, err := fmt.Fscan(out, &ready, &cid); err != nil || ready != "ready" {
		t.Fatalf("child: %q %v", ready, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	b, err = os.ReadFile(filepath.Join(childSpool, cid, track.CredentialFile))
	if err != nil {
		t.Fatalf("the killed process kept no credential: %v", err)
	}
	again, err := track.Start(ctx, track.Options{ID: cid, Resume: true, Addr: addr, Credential: strings.TrimSpace(string(b)), SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatalf("resume with the credential: %v", err)
	}
	again.LogParam("resumed", 3)
	if err := again.End(ctx, track.StatusFinished); err != nil {
		t.Errorf("resumed run's End: %v", err)
	}
	params, meta, _ = getRunAs(t, ctx, addr, adminToken, cid)
	if params["resumed"] == nil || meta["owner"] != "rudi" {
		t.Errorf("resumed run: %v %v", params, meta)
	}
	d.stop(t)
}
