package jobs

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
)

// ClientOptions configures Dial.
type ClientOptions struct {
	// TLS, if set, makes the connections TLS.
	TLS *tls.Config
	// ChunkSize is the piece UploadFile sends per call. Default 1 MiB.
	ChunkSize int
	// Token authenticates the client (docs/security.md). Default
	// $SIGOCO_TOKEN.
	Token string
}

// Client is the Go client of a tracking server's jobs: oSPARC's SolversApi
// and FilesApi in one (docs/jobs.md maps them). It holds two rpc
// connections, to the targets "jobs" and "tracker", and is safe for
// concurrent use.
type Client struct {
	c     *rpc.Client
	rd    *track.Reader
	chunk int
}

// Dial connects to the tracking server at addr ("" for the default, as
// track.Options.Addr).
func Dial(ctx context.Context, addr string, opts ClientOptions) (*Client, error) {
	rd, err := track.Open(ctx, addr, track.OpenOptions{TLS: opts.TLS, Token: opts.Token})
	if err != nil {
		return nil, err
	}
	if addr == "" {
		if addr = os.Getenv(track.EnvAddr); addr == "" {
			addr = track.DefaultAddr
		}
	}
	c, err := rpc.Dial(ctx, addr, TargetName, rpc.ClientOptions{TLS: opts.TLS, Token: opts.Token})
	if err != nil {
		rd.Close()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = chunkSize
	}
	return &Client{c: c, rd: rd, chunk: opts.ChunkSize}, nil
}

// Close closes both connections.
func (c *Client) Close() error {
	err := c.c.Close()
	if err2 := c.rd.Close(); err == nil {
		err = err2
	}
	return err
}

// Reader returns the client's connection to the tracker (runs, series,
// logs of the jobs' runs).
func (c *Client) Reader() *track.Reader { return c.rd }

// ListSolvers lists the solvers and their ports.
func (c *Client) ListSolvers(ctx context.Context) ([]Solver, error) {
	var out []Solver
	return out, c.c.CallInto(ctx, &out, "list_solvers")
}

// GetSolver returns one solver version ("": the last declared).
func (c *Client) GetSolver(ctx context.Context, name, version string) (*Solver, error) {
	var out Solver
	return &out, c.c.CallInto(ctx, &out, "get_solver", name, version)
}

// CreateJob makes a PENDING job; a file input may be given as the FileRef
// UploadFile returned.
func (c *Client) CreateJob(ctx context.Context, solver, version string, inputs map[string]any) (*Job, error) {
	in := make(map[string]any, len(inputs))
	for k, v := range inputs {
		switch f := v.(type) {
		case FileRef:
			v = f.value()
		case *FileRef:
			v = f.value()
		}
		in[k] = v
	}
	return c.job(ctx, "create_job", solver, version, in)
}

// StartJob starts a job (it is queued while every slot is taken).
func (c *Client) StartJob(ctx context.Context, id string) (*Job, error) {
	return c.job(ctx, "start_job", id)
}

// InspectJob returns a job's state.
func (c *Client) InspectJob(ctx context.Context, id string) (*Job, error) {
	return c.job(ctx, "inspect_job", id)
}

// StopJob stops a job and returns it once final.
func (c *Client) StopJob(ctx context.Context, id string) (*Job, error) {
	return c.job(ctx, "stop_job", id)
}

func (c *Client) job(ctx context.Context, method string, args ...any) (*Job, error) {
	var j Job
	if err := c.c.CallInto(ctx, &j, method, args...); err != nil {
		return nil, err
	}
	return &j, nil
}

// ListJobs returns a page of jobs, newest first.
func (c *Client) ListJobs(ctx context.Context, f JobFilter) (*JobPage, error) {
	var p JobPage
	return &p, c.c.CallInto(ctx, &p, "list_jobs", f)
}

// GetJobOutputs returns a job's outputs.
func (c *Client) GetJobOutputs(ctx context.Context, id string) (*JobOutputs, error) {
	var o JobOutputs
	return &o, c.c.CallInto(ctx, &o, "get_job_outputs", id)
}

// GetJobLogfile returns a job's log file (a zip).
func (c *Client) GetJobLogfile(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	return b, c.c.CallInto(ctx, &b, "get_job_logfile", id)
}

// DeleteJob deletes a job that is not running.
func (c *Client) DeleteJob(ctx context.Context, id string) error {
	_, err := c.c.Call(ctx, "delete_job", id)
	return err
}

// UploadFile sends a local file to the server's artifact store (sha256
// checked by the server, resumed where an unfinished upload stopped,
// nothing sent when the server has it) and returns its reference, to be
// given as a file input.
func (c *Client) UploadFile(ctx context.Context, path string) (FileRef, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileRef{}, err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return FileRef{}, err
	}
	ref := FileRef{Sha256: hex.EncodeToString(h.Sum(nil)), Filename: filepath.Base(path), Size: size}
	tc := c.rd.Client()
	var bs store.BlobState
	if err := tc.CallInto(ctx, &bs, "blob_state", ref.Sha256); err != nil {
		return FileRef{}, err
	}
	if bs.Present {
		return ref, nil
	}
	off := bs.Received
	if off > size {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return FileRef{}, err
	}
	buf := make([]byte, c.chunk)
	for first := true; off < size || first; first = false {
		n, err := io.ReadFull(f, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return FileRef{}, err
		}
		if err := tc.CallInto(ctx, &off, "write_blob", ref.Sha256, off, buf[:n]); err != nil {
			return FileRef{}, fmt.Errorf("jobs: uploading %s: %w", path, err)
		}
		if n == 0 {
			break
		}
	}
	if _, err := tc.Call(ctx, "commit_blob", ref.Sha256); err != nil {
		return FileRef{}, fmt.Errorf("jobs: uploading %s: %w", path, err)
	}
	return ref, nil
}

// DownloadFile writes a stored file (an output's FileRef.Sha256) to w.
func (c *Client) DownloadFile(ctx context.Context, sha256 string, w io.Writer) (int64, error) {
	return c.rd.Artifact(ctx, sha256, w)
}
