package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/store"
)

// blobTracker is the part of the "tracker" target the Client uses, over
// the test's store (the real one is track/server's, which does not serve
// "jobs" until trackd wires it).
type blobTracker struct{ st store.Store }

func (b *blobTracker) BlobState(ctx context.Context, sha string) (store.BlobState, error) {
	return b.st.BlobState(ctx, sha)
}

func (b *blobTracker) WriteBlob(ctx context.Context, sha string, off int64, data []byte) (int64, error) {
	return b.st.WriteBlob(ctx, sha, off, data)
}

func (b *blobTracker) CommitBlob(ctx context.Context, sha string) (int64, error) {
	return b.st.CommitBlob(ctx, sha)
}

func (b *blobTracker) ReadBlob(ctx context.Context, sha string, off, n int64) ([]byte, error) {
	f, size, err := b.st.OpenBlob(ctx, sha)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if off < 0 || off > size { // as track/server's ReadBlob
		return nil, fmt.Errorf("%w: offset %d of a %d-byte artifact", rpc.ErrValue, off, size)
	}
	f.Seek(off, io.SeekStart)
	buf := make([]byte, min(n, size-off))
	_, err = io.ReadFull(f, buf)
	return buf, err
}

// dialClient serves the jobs target and a blob tracker on a loopback
// port and dials the Go client.
func dialClient(t *testing.T, e *env) *jobs.Client {
	t.Helper()
	srv, err := rpc.NewServer(map[string]any{jobs.TargetName: e.api, "tracker": &blobTracker{e.st}}, rpc.ServerOptions{AllowParallel: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := jobs.Dial(ctx, ln.Addr().String(), jobs.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestClientFiles: GetFile (oSPARC's get_file) gives a stored file's id
// and size; DownloadFileTo writes it to a path; both say ErrFileNotFound
// for a file never uploaded.
func TestClientFiles(t *testing.T) {
	c := dialClient(t, newEnv(t, "", jobs.Options{}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	for _, size := range []int{0, 1, 1000, 70000} {
		p := filepath.Join(dir, fmt.Sprint("in", size))
		os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o644)
		ref, err := c.UploadFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.GetFile(ctx, ref.Sha256)
		if err != nil || got.Sha256 != ref.Sha256 || got.Size != int64(size) {
			t.Fatalf("GetFile of %d bytes: %+v %v", size, got, err)
		}
		out := filepath.Join(dir, fmt.Sprint("out", size))
		if n, err := c.DownloadFileTo(ctx, ref.Sha256, out); err != nil || n != int64(size) {
			t.Fatalf("DownloadFileTo: %d %v", n, err)
		}
		if b, _ := os.ReadFile(out); len(b) != size {
			t.Fatalf("downloaded %d bytes, want %d", len(b), size)
		}
	}
	never := strings.Repeat("ab", 32)
	if _, err := c.GetFile(ctx, never); !errors.Is(err, jobs.ErrFileNotFound) {
		t.Fatalf("GetFile of a file never uploaded: %v", err)
	}
	out := filepath.Join(dir, "never")
	if _, err := c.DownloadFileTo(ctx, never, out); !errors.Is(err, jobs.ErrFileNotFound) {
		t.Fatalf("DownloadFileTo of a file never uploaded: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a file was left for a failed download")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 8 {
		t.Fatalf("temporary files left: %d entries", len(ents))
	}
}

// TestClientInputError: invalid inputs are an *InputError after the wire,
// errors.Is(err, ErrInvalidInput), with the ports and the remote error.
func TestClientInputError(t *testing.T) {
	c := dialClient(t, newEnv(t, "", jobs.Options{}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.CreateJob(ctx, "sleeper", "1.0.0", map[string]any{"factor": 1, "note": 3, "input_1": "file.txt"})
	var ie *jobs.InputError
	var re *rpc.RemoteError
	if !errors.Is(err, jobs.ErrInvalidInput) || !errors.As(err, &ie) || !errors.As(err, &re) {
		t.Fatalf("CreateJob: %v (%T)", err, err)
	}
	if ie.Solver == "" || len(ie.Problems) != 2 || ie.Problems[0].Port != "input_1" || ie.Problems[1].Port != "note" ||
		!strings.HasPrefix(ie.Problems[1].Reason, "must be a string") || ie.Solver != "sleeper@1.0.0" || ie.Error() != re.Message {
		t.Fatalf("InputError %+v; remote %q", ie, re.Message)
	}
	if _, err := c.CreateJob(ctx, "nope", "", nil); err == nil || errors.Is(err, jobs.ErrInvalidInput) {
		t.Fatalf("an unknown solver: %v", err)
	}
}

// TestClient is the seed's script with the Go client.
func TestClient(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	srv, err := rpc.NewServer(map[string]any{jobs.TargetName: e.api, "tracker": &blobTracker{e.st}}, rpc.ServerOptions{AllowParallel: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := jobs.Dial(ctx, ln.Addr().String(), jobs.ClientOptions{ChunkSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	p := filepath.Join(t.TempDir(), "file_with_number.txt")
	os.WriteFile(p, []byte("41\n"), 0o644)
	ref, err := c.UploadFile(ctx, p) // 3 bytes a call: several chunks
	if err != nil || ref.Size != 3 {
		t.Fatal(ref, err)
	}
	if again, err := c.UploadFile(ctx, p); err != nil || again.Sha256 != ref.Sha256 {
		t.Fatal(again, err)
	}
	s, err := c.GetSolver(ctx, "sleeper", "1.0.0")
	if err != nil || s.Inputs[1].Key != "input_1" || s.Inputs[1].ContentType != "text/plain" {
		t.Fatalf("%+v %v", s, err)
	}
	j, err := c.CreateJob(ctx, "sleeper", "1.0.0", map[string]any{"input_1": ref, "factor": 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	for j.Stopped.IsZero() {
		time.Sleep(10 * time.Millisecond)
		if j, err = c.InspectJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if j.State != jobs.StateSuccess {
		t.Fatalf("job %+v", j)
	}
	outs, err := c.GetJobOutputs(ctx, j.ID)
	if err != nil || outs.Results["output_2"] != 82.0 {
		t.Fatalf("outputs %+v %v", outs, err)
	}
	var buf bytes.Buffer
	f := outs.Results["output_1"].(map[string]any)
	if _, err := c.DownloadFile(ctx, f["sha256"].(string), &buf); err != nil || buf.String() != "42" {
		t.Fatalf("downloaded %q %v", buf.String(), err)
	}
	zipped, err := c.GetJobLogfile(ctx, j.ID)
	if err != nil || !strings.Contains(unzip(t, zipped)["stdout.log"], "[PROGRESS] 3/3") {
		t.Fatalf("log file: %v", err)
	}
	page, err := c.ListJobs(ctx, jobs.JobFilter{Solver: "sleeper"})
	if err != nil || len(page.Jobs) != 1 {
		t.Fatalf("%+v %v", page, err)
	}
	if err := c.DeleteJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InspectJob(ctx, j.ID); err == nil || !strings.Contains(err.Error(), "unknown job") {
		t.Fatalf("inspect after delete: %v", err)
	}
}
