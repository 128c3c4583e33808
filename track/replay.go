package track

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
)

// ReplayOptions configures Replay.
type ReplayOptions struct {
	// Addr is the server (default as for Options.Addr); a comma-separated
	// list is tried in order.
	Addr string
	// TLS, if set, makes the connection TLS.
	TLS *tls.Config
	// Token authenticates the replay (docs/security.md). Default
	// $SIGOCO_TOKEN.
	Token string
}

// ReplayResult tells what Replay did for one run directory.
type ReplayResult struct {
	Run      string
	Batches  int
	Records  int   // records and points stored (not counting those already there)
	Rejected int   // records the server refused
	Blobs    int   // artifacts uploaded
	Err      error // why the replay stopped, nil if the spool was sent completely
}

// Replay sends the spools left in dir (a spool directory, as
// Options.SpoolDir, or one run's directory in it) to the server, in order,
// and removes what was sent. Runs in use by a live process are skipped.
// Records the server already has are not stored again.
func Replay(ctx context.Context, dir string, opts ReplayOptions) ([]ReplayResult, error) {
	if opts.Addr == "" {
		opts.Addr = os.Getenv(EnvAddr)
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	dirs, err := runDirs(dir)
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, nil
	}
	c, err := dialFirst(ctx, splitAddrs(opts.Addr), rpc.ClientOptions{TLS: opts.TLS, Protocol: rpc.ProtocolNative, Token: opts.Token}) // failover.go
	if err != nil {
		return nil, fmt.Errorf("track: replay: %w", err)
	}
	defer c.Close()
	var out []ReplayResult
	for _, d := range dirs {
		unlock, ok := lockDir(d)
		if !ok {
			continue
		}
		rc := c
		if cred := readCredential(d); cred != "" {
			// The run's write credential, kept by the process that spooled:
			// it writes the run whatever this process's token is.
			cc, err := rpc.Dial(ctx, opts.Addr, TrackerTarget, rpc.ClientOptions{TLS: opts.TLS, Protocol: rpc.ProtocolNative, Token: cred})
			if err == nil {
				rc = cc
			}
		}
		res := replayDir(ctx, rc, d)
		if rc != c {
			rc.Close()
		}
		unlock()
		if res.Err == nil {
			os.Remove(filepath.Join(d, CredentialFile))
			os.Remove(filepath.Join(d, "lock"))
			os.Remove(filepath.Join(d, "blobs"))
			os.Remove(d)
		}
		out = append(out, res)
	}
	return out, nil
}

// runDirs lists the run directories under dir (dir itself if it is one).
func runDirs(dir string) ([]string, error) {
	if isRunDir(dir) {
		return []string{dir}, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("track: replay: %w", err)
	}
	var out []string
	for _, e := range ents {
		if p := filepath.Join(dir, e.Name()); e.IsDir() && isRunDir(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func isRunDir(d string) bool {
	// Not "lock" alone: that is a run starting right now.
	for _, f := range []string{SpoolFile, "blobs"} {
		if _, err := os.Stat(filepath.Join(d, f)); err == nil {
			return true
		}
	}
	return false
}

// replayDir replays one run directory over c.
func replayDir(ctx context.Context, c *rpc.Client, d string) ReplayResult {
	res := ReplayResult{Run: filepath.Base(d)}
	path := filepath.Join(d, SpoolFile)
	f, err := os.Open(path)
	if err == nil {
		sr := newSpoolReader(f)
		for {
			b, err := sr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				res.Err = err // the complete frames before were sent; the rest is lost
				break
			}
			var ack store.Ack
			if err := c.CallInto(ctx, &ack, "log_batch", b.wireArgs()...); err != nil {
				if isTransport(err) {
					f.Close()
					res.Err = err
					return res // keep the spool for next time
				}
				res.Rejected += len(b.Batch.Records) + len(b.Seq)
				if res.Err == nil {
					res.Err = err
				}
				continue
			}
			if ack.Credential != "" {
				writeCredential(d, ack.Credential) // the replay created the run
			}
			res.Batches++
			res.Records += ack.Applied
			res.Rejected += len(ack.Rejected)
		}
		f.Close()
		if res.Err == nil || errors.Is(res.Err, ErrSpoolCorrupt) {
			os.Remove(path)
		}
	}
	blobs, _ := os.ReadDir(filepath.Join(d, "blobs"))
	for _, e := range blobs {
		if strings.HasPrefix(e.Name(), "staging-") {
			os.Remove(filepath.Join(d, "blobs", e.Name()))
			continue
		}
		p := filepath.Join(d, "blobs", e.Name())
		err := uploadBlob(ctx, c, p, e.Name(), rpcTimeout)
		if err != nil && isTransport(err) {
			if res.Err == nil {
				res.Err = err
			}
			return res
		}
		if err == nil {
			res.Blobs++
		} else if res.Err == nil {
			res.Err = err
		}
		os.Remove(p)
	}
	return res
}

const rpcTimeout = 30 * time.Second

// startOrphanReplay replays, in the background, the spools that other runs
// left in the same spool directory.
func (r *Run) startOrphanReplay() {
	ents, err := os.ReadDir(r.opts.SpoolDir)
	if err != nil {
		return
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && e.Name() != r.id && isRunDir(filepath.Join(r.opts.SpoolDir, e.Name())) {
			dirs = append(dirs, filepath.Join(r.opts.SpoolDir, e.Name()))
		}
	}
	if len(dirs) == 0 {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for _, d := range dirs {
			res, err := Replay(r.ctx, d, ReplayOptions{Addr: r.opts.Addr, TLS: r.opts.TLS})
			if err != nil {
				r.log.Debug("track: replaying a spool left behind", "dir", d, "err", err)
				return
			}
			for _, x := range res {
				r.log.Info("track: replayed a spool left behind", "run", x.Run, "batches", x.Batches, "err", x.Err)
			}
		}
	}()
}
