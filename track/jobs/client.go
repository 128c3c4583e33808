package jobs

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sigoco/sigoco/internal/failover"
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
	c     *failover.Conn // the "jobs" target of the server in use
	rd    *track.Reader
	chunk int
}

// Dial connects to the tracking server at addr ("" for the default, as
// track.Options.Addr; a comma-separated list of servers sharing one store
// fails over as track.Open does).
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
	// The jobs target on the servers of addr (a comma-separated list fails
	// over as the reader does); get and list calls are made once more on
	// the next server when a connection is lost, not submissions.
	c := failover.NewConn(failover.NewList(addr), TargetName, rpc.ClientOptions{TLS: opts.TLS, Token: opts.Token},
		"list_solvers", "get_solver", "list_jobs", "get_job", "inspect_job", "get_job_outputs", "get_job_logfile")
	if _, err := c.Client(ctx); err != nil {
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
	j, err := c.job(ctx, "create_job", solver, version, wireInputs(inputs))
	return j, inputErrorFrom(err)
}

// CreateJobs makes and starts a sweep, one job per inputs (a file input
// may be a FileRef), and returns the sweep's job; its elements are listed
// with ListJobs(JobFilter{Parent: sweep.ID}). Invalid inputs are an
// *InputError naming element i's ports "[i].port".
func (c *Client) CreateJobs(ctx context.Context, solver, version string, inputs []map[string]any, opts SweepOptions) (*Job, error) {
	in := make([]map[string]any, len(inputs))
	for i, m := range inputs {
		in[i] = wireInputs(m)
	}
	j, err := c.job(ctx, "create_jobs", solver, version, in, rpc.Kwargs{"throttle": opts.Throttle})
	return j, inputErrorFrom(err)
}

// StopJobs stops every element of a sweep and returns the sweep once
// final.
func (c *Client) StopJobs(ctx context.Context, sweep string) (*Job, error) {
	return c.job(ctx, "stop_jobs", sweep)
}

// wireInputs gives file inputs their wire form.
func wireInputs(inputs map[string]any) map[string]any {
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
	return in
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
	tc := c.rd
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

// ErrFileNotFound is returned by GetFile and DownloadFileTo for a sha256
// whose content the server does not hold (complete).
var ErrFileNotFound = errors.New("jobs: file not found")

// GetFile returns what the server knows of a stored file (oSPARC's
// FilesApi.get_file): its sha256 (the file id) and size. The store keeps
// contents by sha256, not names: Filename and ContentType are empty (the
// FileRef of an upload or a job output has them). A file the server does
// not hold is ErrFileNotFound.
func (c *Client) GetFile(ctx context.Context, sha256 string) (FileRef, error) {
	tc := c.rd
	var bs store.BlobState
	if err := tc.CallInto(ctx, &bs, "blob_state", sha256); err != nil {
		return FileRef{}, err
	}
	if !bs.Present {
		return FileRef{}, fmt.Errorf("%w: %s", ErrFileNotFound, sha256)
	}
	size, err := c.blobSize(ctx, sha256)
	if err != nil {
		return FileRef{}, err
	}
	return FileRef{Sha256: sha256, Size: size}, nil
}

// blobSize finds a stored file's size with empty reads (read_blob accepts
// an offset up to the size and refuses one past it): the size the
// refusal names when it says it, checked; else by bisection.
func (c *Client) blobSize(ctx context.Context, sha256 string) (int64, error) {
	tc := c.rd
	fits := func(off int64) (bool, error) {
		_, err := tc.Call(ctx, "read_blob", sha256, off, int64(0))
		if err == nil {
			return true, nil
		}
		if errors.Is(err, rpc.ErrValue) {
			return false, nil
		}
		return false, err
	}
	const far = int64(1) << 62
	_, err := tc.Call(ctx, "read_blob", sha256, far, int64(0))
	if err != nil && !errors.Is(err, rpc.ErrValue) {
		return 0, err
	}
	if m := sizeInRefusal.FindStringSubmatch(fmt.Sprint(err)); m != nil {
		if n, perr := strconv.ParseInt(m[1], 10, 64); perr == nil {
			ok, err := fits(n)
			if err != nil {
				return 0, err
			}
			past, err := fits(n + 1)
			if err != nil {
				return 0, err
			}
			if ok && !past {
				return n, nil
			}
		}
	}
	lo, hi := int64(0), int64(1) // lo fits; find a hi that does not
	for {
		ok, err := fits(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		if hi >= far {
			return 0, fmt.Errorf("jobs: the size of %s: no end found", sha256)
		}
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := fits(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// sizeInRefusal reads the size out of read_blob's refusal of an offset
// past the end ("offset N of a SIZE-byte artifact").
var sizeInRefusal = regexp.MustCompile(`of a (\d+)-byte artifact`)

// DownloadFileTo writes a stored file to path (oSPARC's
// FilesApi.download_file with a destination): into a temporary file
// beside it, checked against sha256, then renamed, so path holds the whole
// file or is left as it was. It returns the size.
func (c *Client) DownloadFileTo(ctx context.Context, sha256, path string) (int64, error) {
	var bs store.BlobState
	if err := c.rd.CallInto(ctx, &bs, "blob_state", sha256); err != nil {
		return 0, err
	}
	if !bs.Present {
		return 0, fmt.Errorf("%w: %s", ErrFileNotFound, sha256)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return 0, fmt.Errorf("jobs: %w", err)
	}
	tmp := f.Name()
	h := sha256New()
	n, err := c.DownloadFile(ctx, sha256, io.MultiWriter(f, h))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != sha256 {
		err = fmt.Errorf("jobs: downloaded %s: the content does not match its sha256", sha256)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return n, nil
}

// inputErrorFrom turns a remote *InputError (create_job's refusal of
// inputs) back into an *InputError, so that errors.Is(err,
// ErrInvalidInput) and errors.As(err, **InputError) hold after the wire;
// the *rpc.RemoteError stays reachable through it. Other errors pass.
func inputErrorFrom(err error) error {
	var re *rpc.RemoteError
	if err == nil || !errors.As(err, &re) || re.Type != inputErrorType {
		return err
	}
	ie := &InputError{remote: re}
	rest, ok := strings.CutPrefix(re.Message, "jobs: invalid inputs for ")
	if !ok {
		return ie
	}
	solver, probs, _ := strings.Cut(rest, ": input ")
	ie.Solver = strings.TrimSuffix(solver, ":")
	for probs != "" {
		port, tail, err := quotedPrefix(probs)
		if err != nil {
			break
		}
		reason, next, more := strings.Cut(strings.TrimPrefix(tail, ": "), "; input ")
		ie.Problems = append(ie.Problems, PortProblem{Port: port, Reason: reason})
		if !more {
			break
		}
		probs = next
	}
	return ie
}

// inputErrorType is the rpc.RemoteError Type of an *InputError.
const inputErrorType = "jobs.InputError"

// quotedPrefix splits a Go-quoted string off the front of s.
func quotedPrefix(s string) (string, string, error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", err
	}
	u, err := strconv.Unquote(q)
	return u, s[len(q):], err
}

// sha256New is sha256.New (the parameter named sha256 shadows the package
// in DownloadFileTo).
var sha256New = sha256.New
