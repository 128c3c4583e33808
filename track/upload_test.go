package track_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// TestUploadResumes: an upload cut off after its first chunk goes on from
// the server's byte count; content the server has is not sent again.
func TestUploadResumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(ctx, st, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx, ln) }()
	defer func() { srv.Close(); <-done }()
	c, err := rpc.Dial(ctx, ln.Addr().String(), track.TrackerTarget, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), track.BlobChunk/8) // two chunks
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	var n int64
	if err := c.CallInto(ctx, &n, "write_blob", sha, int64(0), data[:1000]); err != nil { // an interrupted upload
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "blob")
	os.WriteFile(path, data, 0o644)
	if err := track.UploadBlob(ctx, c, path, sha, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	f, size, err := st.OpenBlob(ctx, sha)
	if err != nil || size != int64(len(data)) {
		t.Fatal(err, size)
	}
	f.Close()
	os.Remove(path) // present now: nothing is read from the file again
	if err := track.UploadBlob(ctx, c, path, sha, 10*time.Second); err != nil {
		t.Fatalf("a second upload of present content: %v", err)
	}
}
