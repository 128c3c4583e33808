package track

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/wire/auth"
)

// EnvRunCredential holds a run's write credential given to the process
// that writes it (trackd sets it for a job's solver, with
// SIGOCO_TRACK_RUN): Options.Credential's default.
const EnvRunCredential = "SIGOCO_RUN_CREDENTIAL"

// CredentialFile is the file of a run's spool directory that keeps its
// write credential (mode 0600), so that a replay after a restart writes
// the run whatever token the replaying process has.
const CredentialFile = "credential"

// A run's write credential (docs/security.md, "Run credentials") is a
// token good for that one run, which the server hands out in the answer
// to the batch that created the run (or to run_credential, for a resumed
// run). The client keeps it in the run's spool directory and presents it
// instead of Options.Token on the connections it dials from then on: a
// replay by another process, with another token or none, still writes
// the run. A credential the server no longer takes (the run was deleted;
// the newest eight stay valid) is dropped, and Token used again.

// readCredential returns the credential kept in a spool directory ("" if
// none).
func readCredential(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, CredentialFile))
	if err != nil || len(b) > 512 {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// writeCredential keeps cred in a spool directory, readable by its owner
// only.
func writeCredential(dir, cred string) error {
	tmp := filepath.Join(dir, CredentialFile+".tmp")
	if err := os.WriteFile(tmp, []byte(cred+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, CredentialFile))
}

// credential returns the run's write credential ("" while it has none).
func (r *Run) credential() string {
	r.credMu.Lock()
	defer r.credMu.Unlock()
	return r.cred
}

// setCredential keeps the credential the server handed out ("" drops
// it: the server refused it).
func (r *Run) setCredential(cred string) {
	r.credMu.Lock()
	changed := r.cred != cred
	r.cred = cred
	r.credMu.Unlock()
	if !changed {
		return
	}
	if cred == "" {
		os.Remove(filepath.Join(r.dir, CredentialFile))
		return
	}
	if err := writeCredential(r.dir, cred); err != nil {
		r.log.Warn("track: keeping the run's write credential", "run", r.id, "err", err)
	}
}

// token is what the run's connections present: its write credential,
// else Options.Token.
func (r *Run) token() string {
	if c := r.credential(); c != "" {
		return c
	}
	return r.opts.Token
}

// dialTracker dials the tracker at addr with the run's credential or token. A
// credential the server refuses is dropped, and the token tried.
func (r *Run) dialTracker(ctx context.Context, addr string) (*rpc.Client, error) {
	cred := r.credential()
	tok := r.token()
	c, err := rpc.Dial(ctx, addr, TrackerTarget, rpc.ClientOptions{TLS: r.opts.TLS, Protocol: rpc.ProtocolNative, Logger: r.log, Token: tok})
	if err != nil && cred != "" && errors.Is(err, auth.ErrUnauthenticated) {
		r.log.Warn("track: the server refused the run's write credential; using the token", "run", r.id, "err", err)
		r.setCredential("")
		return rpc.Dial(ctx, addr, TrackerTarget, rpc.ClientOptions{TLS: r.opts.TLS, Protocol: rpc.ProtocolNative, Logger: r.log, Token: r.opts.Token})
	}
	return c, err
}
