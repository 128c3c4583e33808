package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/blobdir"
)

// Blobs in the database (Options.BlobsInDatabase): the content of a blob
// is cut into rows of blob_chunks of BlobChunkSize bytes (the last one
// shorter) keyed by (sha256, offset). An upload in progress has a row in
// blob_uploads (bytes received, last write); a verified blob has a row in
// blobs. Every node reads and writes the same rows, so an upload begun
// through one node resumes through another at what is stored. Writes and
// the commit of one sha256 are serialised across nodes by a transaction
// advisory lock on it.

// BlobChunkSize is the size of one row of blob_chunks.
const BlobChunkSize = 1 << 20

// blobSchema: schema 7.
const blobSchema = `CREATE TABLE blob_chunks (sha256 TEXT NOT NULL, off BIGINT NOT NULL, data BYTEA NOT NULL,
		PRIMARY KEY (sha256, off));
	CREATE TABLE blob_uploads (sha256 TEXT PRIMARY KEY, received BIGINT NOT NULL, written BIGINT NOT NULL);
	CREATE INDEX blob_uploads_written ON blob_uploads(written);
	CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL);`

// blobStore is where a Store keeps blobs: a directory (blobdir.Dir) or
// the database (dbBlobs).
type blobStore interface {
	State(ctx context.Context, sha string) (store.BlobState, error)
	Write(ctx context.Context, sha string, offset int64, data []byte) (int64, error)
	Commit(ctx context.Context, sha string) (int64, error)
	OpenBlob(ctx context.Context, sha string) (io.ReadSeekCloser, int64, error)
}

// dbBlobs keeps blobs in the database. Its methods are safe for
// concurrent use, by several nodes too.
type dbBlobs struct {
	pool       *pgxpool.Pool
	maxSize    int64
	partMaxAge time.Duration
	now        func() time.Time

	mu     sync.Mutex // guards lastGC
	lastGC time.Time  // of this node's last sweep of stale uploads
}

// openDBBlobs returns the blobs of pool after removing the stale uploads.
func openDBBlobs(ctx context.Context, pool *pgxpool.Pool, maxSize int64, partMaxAge time.Duration, now func() time.Time) (*dbBlobs, error) {
	if partMaxAge <= 0 {
		partMaxAge = blobdir.DefaultPartMaxAge
	}
	if now == nil {
		now = time.Now
	}
	b := &dbBlobs{pool: pool, maxSize: maxSize, partMaxAge: partMaxAge, now: now, lastGC: now()}
	if _, err := b.RemoveStale(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// lockBlob takes the transaction advisory lock of sha: one writer of a
// blob at a time, across nodes.
func lockBlob(ctx context.Context, tx pgx.Tx, sha string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sigoco-blob:' || $1, 0))`, sha)
	return err
}

func wrapBlob(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("postgres: %w", err)
}

// RemoveStale removes the uploads not written for partMaxAge (their
// chunks too) and returns their shas.
func (b *dbBlobs) RemoveStale(ctx context.Context) ([]string, error) {
	cutoff := b.now().Add(-b.partMaxAge).UnixNano()
	rows, err := b.pool.Query(ctx, `SELECT sha256 FROM blob_uploads WHERE written < $1`, cutoff)
	if err != nil {
		return nil, wrapBlob(err)
	}
	shas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrapBlob(err)
	}
	var removed []string
	for _, sha := range shas {
		err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
			if err := lockBlob(ctx, tx, sha); err != nil {
				return err
			}
			// Again under the lock: a write may have come in.
			tag, err := tx.Exec(ctx, `DELETE FROM blob_uploads WHERE sha256 = $1 AND written < $2`, sha, cutoff)
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM blob_chunks WHERE sha256 = $1`, sha); err != nil {
				return err
			}
			removed = append(removed, sha)
			return nil
		})
		if err != nil {
			return removed, wrapBlob(err)
		}
	}
	return removed, nil
}

// maybeRemoveStale runs RemoveStale if this node's last run is
// partMaxAge/24 old.
func (b *dbBlobs) maybeRemoveStale(ctx context.Context) {
	now := b.now()
	b.mu.Lock()
	due := now.Sub(b.lastGC) >= b.partMaxAge/24
	if due {
		b.lastGC = now
	}
	b.mu.Unlock()
	if due {
		b.RemoveStale(ctx) // a failure leaves them for the next sweep
	}
}

// State implements store.Store.BlobState.
func (b *dbBlobs) State(ctx context.Context, sha string) (store.BlobState, error) {
	if err := blobdir.CheckSha(sha); err != nil {
		return store.BlobState{}, err
	}
	var present bool
	var received int64
	err := b.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1),
		COALESCE((SELECT received FROM blob_uploads WHERE sha256 = $1), 0)`, sha).Scan(&present, &received)
	if err != nil {
		return store.BlobState{}, wrapBlob(err)
	}
	if present {
		return store.BlobState{Present: true}, nil
	}
	return store.BlobState{Received: received}, nil
}

// Write implements store.Store.WriteBlob (before its errors are
// classified): data is appended to the last chunk until it is full, then
// into new chunks, in one transaction with the upload's new size.
func (b *dbBlobs) Write(ctx context.Context, sha string, offset int64, data []byte) (int64, error) {
	if err := blobdir.CheckSha(sha); err != nil {
		return 0, err
	}
	b.maybeRemoveStale(ctx)
	var at int64  // the size of the upload after the transaction
	var bad error // refused: the transaction commits nothing but is no failure
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		at, bad = 0, nil
		if err := lockBlob(ctx, tx, sha); err != nil {
			return err
		}
		var present bool
		var received int64
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1),
			COALESCE((SELECT received FROM blob_uploads WHERE sha256 = $1), 0)`, sha).Scan(&present, &received)
		if err != nil {
			return err
		}
		if present {
			return nil // already present: nothing to upload
		}
		at = received
		if received != offset {
			bad = fmt.Errorf("%w: upload of %s is at byte %d, not %d (resume from there)", store.ErrBadRecord, sha[:12], received, offset)
			return nil
		}
		if offset+int64(len(data)) > b.maxSize {
			bad = &store.LimitError{Limit: "MaxBlobSize", Item: "artifact " + sha[:12], Size: offset + int64(len(data)), Max: b.maxSize}
			return nil
		}
		pos, rest := offset, data
		for len(rest) > 0 {
			chunk := pos / BlobChunkSize * BlobChunkSize
			in := pos - chunk
			n := min(int64(len(rest)), BlobChunkSize-in)
			if in == 0 {
				_, err = tx.Exec(ctx, `INSERT INTO blob_chunks (sha256, off, data) VALUES ($1, $2, $3)
					ON CONFLICT (sha256, off) DO UPDATE SET data = EXCLUDED.data`, sha, chunk, rest[:n])
			} else {
				var tag pgconn.CommandTag
				tag, err = tx.Exec(ctx, `UPDATE blob_chunks SET data = data || $3 WHERE sha256 = $1 AND off = $2 AND length(data) = $4`,
					sha, chunk, rest[:n], in)
				if err == nil && tag.RowsAffected() != 1 {
					err = fmt.Errorf("upload of %s: chunk at %d does not hold %d bytes", sha[:12], chunk, in)
				}
			}
			if err != nil {
				return err
			}
			pos, rest = pos+n, rest[n:]
		}
		_, err = tx.Exec(ctx, `INSERT INTO blob_uploads (sha256, received, written) VALUES ($1, $2, $3)
			ON CONFLICT (sha256) DO UPDATE SET received = EXCLUDED.received, written = EXCLUDED.written`, sha, pos, b.now().UnixNano())
		if err != nil {
			return err
		}
		at = pos
		return nil
	})
	if err != nil {
		return offset, wrapBlob(err)
	}
	return at, bad
}

// Commit implements store.Store.CommitBlob (before its errors are
// classified): the chunks are read in order (one row in memory at a time)
// through sha256; a mismatch discards the upload.
func (b *dbBlobs) Commit(ctx context.Context, sha string) (int64, error) {
	if err := blobdir.CheckSha(sha); err != nil {
		return 0, err
	}
	var size int64
	var bad error
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		size, bad = 0, nil
		if err := lockBlob(ctx, tx, sha); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT size FROM blobs WHERE sha256 = $1`, sha).Scan(&size)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var received int64
		err = tx.QueryRow(ctx, `SELECT received FROM blob_uploads WHERE sha256 = $1`, sha).Scan(&received)
		if errors.Is(err, pgx.ErrNoRows) {
			bad = fmt.Errorf("%w: no upload of %s", store.ErrNotFound, sha[:12])
			return nil
		}
		if err != nil {
			return err
		}
		h := sha256.New()
		var n int64
		contiguous := true
		rows, err := tx.Query(ctx, `SELECT off, data FROM blob_chunks WHERE sha256 = $1 ORDER BY off`, sha)
		if err != nil {
			return err
		}
		for rows.Next() {
			var off int64
			var data []byte
			if err := rows.Scan(&off, &data); err != nil {
				rows.Close()
				return err
			}
			contiguous = contiguous && off == n
			h.Write(data)
			n += int64(len(data))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sha || !contiguous || n != received {
			bad = fmt.Errorf("%w: %d bytes uploaded as %s have sha256 %s; upload discarded", store.ErrChecksum, n, sha[:12], got[:12])
			if _, err := tx.Exec(ctx, `DELETE FROM blob_chunks WHERE sha256 = $1`, sha); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DELETE FROM blob_uploads WHERE sha256 = $1`, sha)
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO blobs (sha256, size) VALUES ($1, $2)`, sha, n); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM blob_uploads WHERE sha256 = $1`, sha); err != nil {
			return err
		}
		size = n
		return nil
	})
	if err != nil {
		return 0, wrapBlob(err)
	}
	return size, bad
}

// OpenBlob implements store.Store.OpenBlob. The reader fetches one chunk
// at a time, with ctx.
func (b *dbBlobs) OpenBlob(ctx context.Context, sha string) (io.ReadSeekCloser, int64, error) {
	if err := blobdir.CheckSha(sha); err != nil {
		return nil, 0, err
	}
	var size int64
	err := b.pool.QueryRow(ctx, `SELECT size FROM blobs WHERE sha256 = $1`, sha).Scan(&size)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, fmt.Errorf("%w: artifact content %s", store.ErrNotFound, sha[:12])
	}
	if err != nil {
		return nil, 0, wrapBlob(err)
	}
	return &blobReader{ctx: ctx, pool: b.pool, sha: sha, size: size, chunkOff: -1}, size, nil
}

// blobReader reads a blob in the database, holding at most one chunk.
// It is not safe for concurrent use (as an *os.File's offset is not).
type blobReader struct {
	ctx  context.Context
	pool *pgxpool.Pool
	sha  string
	size int64

	pos      int64
	chunkOff int64 // of chunk; -1: none
	chunk    []byte
}

func (r *blobReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	off := r.pos / BlobChunkSize * BlobChunkSize
	if off != r.chunkOff {
		r.chunk, r.chunkOff = nil, -1
		var data []byte
		err := r.pool.QueryRow(r.ctx, `SELECT data FROM blob_chunks WHERE sha256 = $1 AND off = $2`, r.sha, off).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("postgres: artifact content %s has no chunk at byte %d", r.sha[:12], off)
		}
		if err != nil {
			return 0, wrapBlob(err)
		}
		r.chunk, r.chunkOff = data, off
	}
	in := r.pos - off
	if in >= int64(len(r.chunk)) {
		return 0, fmt.Errorf("postgres: artifact content %s: chunk at byte %d is short", r.sha[:12], off)
	}
	n := copy(p, r.chunk[in:])
	r.pos += int64(n)
	return n, nil
}

func (r *blobReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return r.pos, errors.New("postgres: Seek: bad whence")
	}
	if offset < 0 {
		return r.pos, errors.New("postgres: Seek: negative position")
	}
	r.pos = offset
	return offset, nil
}

func (r *blobReader) Close() error {
	r.chunk = nil
	return nil
}
