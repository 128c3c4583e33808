package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
	"github.com/sigoco/sigoco/track/store/storetest"
)

// TestConformanceBlobsInDatabase runs the conformance suite with the
// artifact contents in the database.
func TestConformanceBlobsInDatabase(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, Options{Limits: storetest.Limits, BlobsInDatabase: true})
	})
}

func randomBlob(n int) ([]byte, string) {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	h := sha256.Sum256(b)
	return b, hex.EncodeToString(h[:])
}

// upload writes data[from:to] in pieces of piece bytes and returns the
// offset the store reports after the last one.
func upload(t *testing.T, s *Store, sha string, data []byte, from, to, piece int) int64 {
	t.Helper()
	ctx := context.Background()
	at := int64(from)
	for off := from; off < to; off += piece {
		end := min(off+piece, to)
		n, err := s.WriteBlob(ctx, sha, int64(off), data[off:end])
		if err != nil {
			t.Fatalf("WriteBlob at %d: %v", off, err)
		}
		at = n
	}
	return at
}

// TestBlobResumedOnOtherNode: an upload begun through node A is resumed
// through node B (two stores on one database) at what A stored, committed
// and verified on B, and read back whole through A.
func TestBlobResumedOnOtherNode(t *testing.T) {
	u := pgtest.Database(t)
	ctx := context.Background()
	open := func() *Store {
		s, err := Open(ctx, u, Options{BlobsInDatabase: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	data, sha := randomBlob(3*BlobChunkSize + 12345)
	half := BlobChunkSize + 400_000 // mid-chunk: B appends to A's last chunk
	if at := upload(t, a, sha, data, 0, half, 300_000); at != int64(half) {
		t.Fatalf("A stored %d bytes, want %d", at, half)
	}
	st, err := b.BlobState(ctx, sha)
	if err != nil || st.Present || st.Received != int64(half) {
		t.Fatalf("B sees %+v, %v; want %d bytes received", st, err, half)
	}
	// A write at the wrong offset is refused and names where to resume.
	if n, err := b.WriteBlob(ctx, sha, 0, data[:10]); !errors.Is(err, store.ErrBadRecord) || n != int64(half) {
		t.Fatalf("write at 0 on B: %d, %v; want ErrBadRecord at %d", n, err, half)
	}
	if _, err := b.CommitBlob(ctx, sha); !errors.Is(err, store.ErrChecksum) {
		// A commit of half the bytes discards them: start again.
		t.Fatalf("early commit: %v, want ErrChecksum", err)
	}
	if st, _ := a.BlobState(ctx, sha); st.Received != 0 || st.Present {
		t.Fatalf("after a failed commit A sees %+v, want nothing", st)
	}
	upload(t, a, sha, data, 0, half, 700_000)
	if at := upload(t, b, sha, data, half, len(data), 1<<20); at != int64(len(data)) {
		t.Fatalf("B stored %d bytes, want %d", at, len(data))
	}
	n, err := b.CommitBlob(ctx, sha)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("commit on B: %d, %v", n, err)
	}
	if n, err := a.CommitBlob(ctx, sha); err != nil || n != int64(len(data)) {
		t.Fatalf("commit again on A: %d, %v", n, err)
	}
	if n, err := a.WriteBlob(ctx, sha, 5, []byte("x")); err != nil || n != 0 {
		t.Fatalf("write to a present blob: %d, %v; want 0, nil", n, err)
	}
	f, size, err := a.OpenBlob(ctx, sha)
	if err != nil || size != int64(len(data)) {
		t.Fatalf("open on A: %d, %v", size, err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), equal %v", len(got), err, bytes.Equal(got, data))
	}
	// Seeks across chunk boundaries.
	for _, off := range []int64{0, BlobChunkSize - 3, 2 * BlobChunkSize, int64(len(data)) - 5} {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 7)
		k, err := io.ReadFull(f, buf)
		if want := data[off:min(off+7, int64(len(data)))]; !bytes.Equal(buf[:k], want) {
			t.Fatalf("at %d read %x (%v), want %x", off, buf[:k], err, want)
		}
	}
	var chunks int
	if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM blob_chunks WHERE sha256 = $1 AND length(data) = $2`, sha, BlobChunkSize).Scan(&chunks); err != nil || chunks != 3 {
		t.Fatalf("%d full chunks (%v), want 3", chunks, err)
	}
}

// TestBlobConcurrentWriters: writers on two nodes racing over one upload
// store each byte once (the advisory lock), the losers told where it is.
func TestBlobConcurrentWriters(t *testing.T) {
	u := pgtest.Database(t)
	ctx := context.Background()
	var nodes []*Store
	for range 2 {
		s, err := Open(ctx, u, Options{BlobsInDatabase: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		nodes = append(nodes, s)
	}
	data, sha := randomBlob(BlobChunkSize + 77_777)
	const piece = 50_000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := nodes[w%2]
			at := int64(0)
			for at < int64(len(data)) {
				end := min(at+piece, int64(len(data)))
				n, err := s.WriteBlob(ctx, sha, at, data[at:end])
				if err != nil && !errors.Is(err, store.ErrBadRecord) {
					t.Error(err)
					return
				}
				at = n
			}
		}()
	}
	wg.Wait()
	if n, err := nodes[1].CommitBlob(ctx, sha); err != nil || n != int64(len(data)) {
		t.Fatalf("commit: %d, %v", n, err)
	}
}

// TestBlobStaleUploadRemoved: an upload not written for UploadMaxAge is
// removed with its chunks (at open and on writes), a fresh one is kept.
func TestBlobStaleUploadRemoved(t *testing.T) {
	s := openStore(t, Options{BlobsInDatabase: true})
	ctx := context.Background()
	old, oldSha := randomBlob(BlobChunkSize + 10)
	fresh, freshSha := randomBlob(1000)
	upload(t, s, oldSha, old, 0, len(old), BlobChunkSize)
	upload(t, s, freshSha, fresh, 0, 500, 500)
	now := time.Now()
	b, err := openDBBlobs(ctx, s.pool, 1<<30, time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE blob_uploads SET written = $1 WHERE sha256 = $2`, now.Add(-2*time.Hour).UnixNano(), oldSha); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour / 24) // the next write sweeps
	if _, err := b.Write(ctx, freshSha, 500, fresh[500:]); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.BlobState(ctx, oldSha); st.Received != 0 {
		t.Fatalf("stale upload still at %d bytes", st.Received)
	}
	var left int
	s.pool.QueryRow(ctx, `SELECT count(*) FROM blob_chunks WHERE sha256 = $1`, oldSha).Scan(&left)
	if left != 0 {
		t.Fatalf("%d chunks of the stale upload left", left)
	}
	if n, err := s.CommitBlob(ctx, freshSha); err != nil || n != 1000 {
		t.Fatalf("fresh upload: %d, %v", n, err)
	}
}

// TestBlobReadBoundedMemory: reading a 48 MiB blob holds about one chunk:
// the live heap, measured after a collection at several points of the
// read, grows by less than 8 MiB.
func TestBlobReadBoundedMemory(t *testing.T) {
	s := openStore(t, Options{BlobsInDatabase: true})
	ctx := context.Background()
	const size = 48 << 20
	h := sha256.New()
	piece := bytes.Repeat([]byte("0123456789abcdef"), BlobChunkSize/16)
	for off := 0; off < size; off += len(piece) {
		if _, err := s.WriteBlob(ctx, shaOfRepeat(piece, size), int64(off), piece); err != nil {
			t.Fatal(err)
		}
		h.Write(piece)
	}
	sha := hex.EncodeToString(h.Sum(nil))
	if sha != shaOfRepeat(piece, size) {
		t.Fatal("bad test sha")
	}
	if _, err := s.CommitBlob(ctx, sha); err != nil {
		t.Fatal(err)
	}
	f, _, err := s.OpenBlob(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := live()
	buf := make([]byte, 64<<10)
	var read, peak uint64
	for {
		n, err := f.Read(buf)
		read += uint64(n)
		if read%(8<<20) < uint64(n) {
			peak = max(peak, live())
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if read != size {
		t.Fatalf("read %d bytes, want %d", read, size)
	}
	if peak > base+8<<20 {
		t.Fatalf("live heap grew by %d MiB while reading", (peak-base)>>20)
	}
	t.Logf("live heap growth while reading %d MiB: %d KiB", size>>20, (int64(peak)-int64(base))>>10)
}

var shaRepeatCache sync.Map

// shaOfRepeat is the sha256 of piece repeated to size bytes.
func shaOfRepeat(piece []byte, size int) string {
	if v, ok := shaRepeatCache.Load(size); ok {
		return v.(string)
	}
	h := sha256.New()
	for off := 0; off < size; off += len(piece) {
		h.Write(piece)
	}
	s := hex.EncodeToString(h.Sum(nil))
	shaRepeatCache.Store(size, s)
	return s
}
