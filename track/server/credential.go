package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// Run credentials.
//
// A run's write credential is a bearer token good for that one run: the
// server mints one when a batch creates a run (in its Ack.Credential), on
// run_credential (a resumed run's process, which has none) and for each
// job's solver (RunCredential, given as $SIGOCO_RUN_CREDENTIAL). The
// client keeps it in its spool directory, so a replay after a restart
// (another process, another token or none) still writes the run.
//
// A client presents it where it would present a token (rpc, logs,
// exposes); the server's Authenticator (credentialAuth) turns it into the
// identity "run:ID" (role runner, method MethodRunCredential), which
// writes only that run (mayWrite), never creates or deletes one, and may
// not launch or stop jobs (Authorize). Only SHA-256 hashes are stored:
// the run's metadata "credential" (store.MetaCredential, written only by
// the server) holds the newest maxCredentials, so a restart keeps them.

// MethodRunCredential is the auth.Method of an identity authenticated by
// a run credential.
const MethodRunCredential auth.Method = "run-credential"

// credentialPrefix starts every run credential: "sgr1.RUN.SECRET".
const credentialPrefix = "sgr1."

// maxCredentials is how many credentials of a run stay valid (the
// newest); a job requeued many times mints one per start.
const maxCredentials = 8

// credentialIdentity is the identity name a credential of run gets. An
// access file's names cannot hold ':', so it is no one else's.
func credentialIdentity(run string) string { return "run:" + run }

// credentialRun returns the run a credential identity may write ("" for
// any other identity).
func credentialRun(id auth.Identity) string {
	if id.Method != MethodRunCredential {
		return ""
	}
	return strings.TrimPrefix(id.Name, "run:")
}

func newCredential(run string) string {
	var b [32]byte
	rand.Read(b[:])
	return credentialPrefix + run + "." + base64.RawURLEncoding.EncodeToString(b[:])
}

// parseCredential returns the run a token claims to be a credential of;
// ok is false when it is not shaped like one.
func parseCredential(tok string) (run string, ok bool) {
	rest, ok := strings.CutPrefix(tok, credentialPrefix)
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || len(rest)-i-1 != 43 {
		return "", false
	}
	run = rest[:i]
	if store.CheckRunID(run) != nil {
		return "", false
	}
	return run, true
}

func credentialHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// RunCredential mints a new write credential for run, which must exist,
// and records its hash beside the older ones (the newest maxCredentials
// stay valid). trackd's jobs give it to a job's solver; the rpc method
// run_credential gives one to a process that resumes a run.
func (s *Server) RunCredential(ctx context.Context, run string) (string, error) {
	if err := store.CheckRunID(run); err != nil {
		return "", err
	}
	o := &s.owners
	o.credMu.Lock()
	defer o.credMu.Unlock()
	e, err := s.ownerEntry(ctx, run, true)
	if err != nil {
		return "", err
	}
	if !e.exists {
		return "", fmt.Errorf("%w: %q", store.ErrUnknownRun, truncate(run, 64))
	}
	tok := newCredential(run)
	hashes := append([]string{credentialHash(tok)}, e.creds...)
	if len(hashes) > maxCredentials {
		hashes = hashes[:maxCredentials]
	}
	v := make([]any, len(hashes))
	for i, h := range hashes {
		v[i] = "sha256:" + h
	}
	if err := s.st.Edit(ctx, run, []store.Record{{Kind: store.KindMeta, Key: store.MetaCredential, Value: v, Time: time.Now().UnixNano()}}); err != nil {
		return "", err
	}
	e.creds, e.at = hashes, time.Now()
	s.setOwner(run, e)
	return tok, nil
}

// validCredential reports whether tok is a current credential of run.
func (s *Server) validCredential(ctx context.Context, run, tok string) (bool, error) {
	e, err := s.ownerEntry(ctx, run, false)
	if err != nil || !e.exists {
		return false, err
	}
	h, _ := hex.DecodeString(credentialHash(tok))
	ok := 0
	for _, c := range e.creds { // every entry, no early exit
		want, _ := hex.DecodeString(c)
		ok |= subtle.ConstantTimeCompare(h, want)
	}
	return ok == 1, nil
}

// credentialAuth authenticates run credentials and passes every other
// credential on to next.
type credentialAuth struct {
	s    *Server
	next auth.Authenticator
}

// credentialCheckTimeout bounds reading a run's credentials from the
// store while a connection authenticates.
const credentialCheckTimeout = 10 * time.Second

func (a credentialAuth) Authenticate(c auth.Credentials) (auth.Identity, error) {
	run, ok := parseCredential(c.Token)
	if !ok {
		return a.next.Authenticate(c)
	}
	ctx, cancel := context.WithTimeout(a.s.ctx, credentialCheckTimeout)
	defer cancel()
	valid, err := a.s.validCredential(ctx, run, c.Token)
	if err != nil {
		return auth.Identity{}, fmt.Errorf("%w: checking the credential of run %q: %v", auth.ErrUnauthenticated, run, err)
	}
	if !valid {
		return auth.Identity{}, fmt.Errorf("%w: not a current write credential of run %q", auth.ErrUnauthenticated, run)
	}
	return auth.Identity{Name: credentialIdentity(run), Role: auth.Runner, Method: MethodRunCredential}, nil
}

// withRunCredentials makes a accept the run credentials of s too (nil
// stays nil: a server without access control serves everyone).
func (s *Server) withRunCredentials(a auth.Authenticator) auth.Authenticator {
	if a == nil {
		return nil
	}
	return credentialAuth{s: s, next: a}
}

// RunCredential mints a write credential for run (see Server.RunCredential)
// for its owner or an admin, or a holder of one of its credentials: a
// process that resumes a run without the credential its predecessor kept.
func (t *Tracker) RunCredential(ctx context.Context, run string) (string, error) {
	if _, err := t.s.mayWrite(ctx, run, "get a credential for"); err != nil {
		return "", err
	}
	return t.s.RunCredential(ctx, run)
}
