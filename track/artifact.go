package track

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
)

// BlobChunk is the size of one artifact upload call.
const BlobChunk = 1 << 20

// uploader stages artifacts in the run's spool directory (blobs/<sha256>),
// records them, and uploads them in chunks, resuming where the server's
// copy ends; content the server already has is not sent again.
type uploader struct {
	r *Run

	mu         sync.Mutex // guards jobs, busy, errs
	cond       *sync.Cond
	jobs       []artifactJob
	busy       bool
	pending    int // jobs queued or running
	unrecorded int // jobs whose artifact record is not enqueued yet
}

type artifactJob struct {
	name, path string // path: the user's file (to stage) or the staged blob
	staged     bool
	sha        string
	size       int64
	ctype      string
	result     bool
}

func newUploader(r *Run) *uploader {
	u := &uploader{r: r}
	u.cond = sync.NewCond(&u.mu)
	return u
}

func (u *uploader) add(j artifactJob) {
	u.mu.Lock()
	u.jobs = append(u.jobs, j)
	u.pending++
	u.unrecorded++
	u.cond.Broadcast()
	u.mu.Unlock()
}

// recorded notes that a job's record is enqueued (or will never be).
func (u *uploader) recorded() {
	u.mu.Lock()
	u.unrecorded--
	u.cond.Broadcast()
	u.mu.Unlock()
}

// waitRecorded waits until every queued artifact has its record enqueued
// (staging is local: this does not depend on the server), or ctx ends.
func (u *uploader) waitRecorded(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { u.mu.Lock(); u.cond.Broadcast(); u.mu.Unlock() })
	defer stop()
	u.mu.Lock()
	defer u.mu.Unlock()
	for u.unrecorded > 0 && ctx.Err() == nil {
		u.cond.Wait()
	}
}

// wait waits until every queued artifact is uploaded, or ctx ends.
func (u *uploader) wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { u.mu.Lock(); u.cond.Broadcast(); u.mu.Unlock() })
	defer stop()
	u.mu.Lock()
	defer u.mu.Unlock()
	for u.pending > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		u.cond.Wait()
	}
	return nil
}

// LogArtifact attaches the file at path to the run under its base name.
// The file is copied into the spool directory in the background (so it may
// change afterwards) and uploaded.
func (r *Run) LogArtifact(path string) {
	if r == nil {
		nilRun("LogArtifact")
		return
	}
	r.up.add(artifactJob{name: filepath.Base(path), path: path, ctype: mime.TypeByExtension(filepath.Ext(path))})
}

// LogResultFile attaches a file as a result (SimplyPy's result that is a
// file), under name (default: its base name).
func (r *Run) LogResultFile(name, path string) {
	if r == nil {
		nilRun("LogResultFile")
		return
	}
	if name == "" {
		name = filepath.Base(path)
	}
	r.up.add(artifactJob{name: name, path: path, ctype: mime.TypeByExtension(filepath.Ext(path)), result: true})
}

// LogResultPath records a pointer to a file as a result, without
// uploading it (SimplyPy's log_result(path=…, save_result=False)): the
// value {"path": ABS} in the series name (default: the file's base name),
// at step. The file need not exist on the server's machine, nor still
// exist later. A path that cannot be made absolute is an error of the run.
func (r *Run) LogResultPath(name, path string, step int64) {
	if r == nil {
		nilRun("LogResultPath")
		return
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		r.fail(fmt.Errorf("track: result path %q: %w", path, err))
		return
	}
	if name == "" {
		name = filepath.Base(abs)
	}
	r.LogResult(name, map[string]any{"path": abs}, step)
}

// LogArtifactReader attaches the content of rd under name. It reads rd to
// its end before returning (into the spool directory); the upload happens
// in the background.
func (r *Run) LogArtifactReader(name string, rd io.Reader) error {
	if r == nil {
		nilRun("LogArtifactReader")
		return nil
	}
	j, err := r.stage(name, rd)
	if err != nil {
		return err
	}
	j.ctype = mime.TypeByExtension(filepath.Ext(name))
	r.up.add(j)
	return nil
}

// stage copies rd into blobs/<sha256> of the run's spool directory.
func (r *Run) stage(name string, rd io.Reader) (artifactJob, error) {
	dir := filepath.Join(r.dir, "blobs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return artifactJob{}, fmt.Errorf("track: artifact %q: %w", name, err)
	}
	tmp, err := os.CreateTemp(dir, "staging-*")
	if err != nil {
		return artifactJob{}, fmt.Errorf("track: artifact %q: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), rd)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return artifactJob{}, fmt.Errorf("track: artifact %q: %w", name, err)
	}
	sha := hex.EncodeToString(h.Sum(nil))
	final := filepath.Join(dir, sha)
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		return artifactJob{}, fmt.Errorf("track: artifact %q: %w", name, err)
	}
	return artifactJob{name: name, path: final, staged: true, sha: sha, size: n}, nil
}

func (u *uploader) run(ctx context.Context) {
	for {
		u.mu.Lock()
		for len(u.jobs) == 0 && ctx.Err() == nil {
			stop := context.AfterFunc(ctx, func() { u.mu.Lock(); u.cond.Broadcast(); u.mu.Unlock() })
			u.cond.Wait()
			stop()
		}
		if ctx.Err() != nil {
			u.mu.Unlock()
			return
		}
		j := u.jobs[0]
		u.mu.Unlock()
		done := u.do(ctx, &j)
		u.mu.Lock()
		if done {
			u.jobs = u.jobs[1:]
			u.pending--
			u.cond.Broadcast()
		} else {
			u.jobs[0] = j // staged now; retry the upload later
		}
		u.mu.Unlock()
		if !done {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

// do stages, records and uploads one job; false means retry later.
func (u *uploader) do(ctx context.Context, j *artifactJob) bool {
	r := u.r
	if !j.staged {
		f, err := os.Open(j.path)
		if err != nil {
			r.fail(fmt.Errorf("track: artifact %q: %w", j.name, err))
			u.recorded()
			return true
		}
		sj, err := r.stage(j.name, f)
		f.Close()
		if err != nil {
			r.fail(err)
			u.recorded()
			return true
		}
		j.path, j.staged, j.sha, j.size = sj.path, true, sj.sha, sj.size
	}
	if j.name != "" {
		r.record(store.Record{Kind: store.KindArtifact, Key: j.name, Value: map[string]any{
			"sha256": j.sha, "size": j.size, "content_type": j.ctype, "result": j.result,
		}})
		j.name = "" // recorded once
		u.recorded()
	}
	c := r.snd.client()
	if c == nil {
		return false
	}
	err := uploadBlob(ctx, c, j.path, j.sha, r.opts.CallTimeout)
	if err != nil && isTransport(err) {
		return false
	}
	if err != nil {
		r.fail(fmt.Errorf("track: artifact %s: %w", j.sha[:12], err))
	}
	os.Remove(j.path)
	return true
}

// uploadBlob uploads the file at path as blob sha, resuming at what the
// server holds.
func uploadBlob(ctx context.Context, c *rpc.Client, path, sha string, timeout time.Duration) error {
	call := func(result any, method string, args ...any) error {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return c.CallInto(cctx, result, method, args...)
	}
	var st store.BlobState
	if err := call(&st, "blob_state", sha); err != nil {
		return err
	}
	if st.Present {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	off := st.Received
	buf := make([]byte, BlobChunk)
	for {
		n, rerr := f.ReadAt(buf, off)
		if n > 0 {
			var got int64
			if err := call(&got, "write_blob", sha, off, buf[:n]); err != nil {
				return err
			}
			off = got
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	var size int64
	return call(&size, "commit_blob", sha)
}
