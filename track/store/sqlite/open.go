package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/blobdir"
)

// Options configures Open. The zero value is valid.
type Options struct {
	// Limits bounds what runs may store (store.DefaultLimits for zero
	// fields).
	Limits store.Limits
	// Synchronous is SQLite's synchronous setting in WAL mode: "normal"
	// (the default: a commit survives a crash of the process, the last
	// ones may be lost if the machine loses power) or "full" (every commit
	// is fsynced).
	Synchronous string
	// Logger receives warnings (a corrupt chunk, a gap in a run's
	// records). Default: discarded.
	Logger *slog.Logger
	// UploadMaxAge: a partial upload (uploads/<sha256>.part) not written
	// for this long is removed, at Open and then on uploads at most every
	// UploadMaxAge/24. Default 24 h (blobdir.DefaultPartMaxAge).
	UploadMaxAge time.Duration
}

// Store is a store.Store in a data directory.
type Store struct {
	*store.Reader // the read methods (reader.go)

	dir    string
	w      *sql.DB    // one connection: all writes
	stmts  *stmtCache // the writer's prepared statements
	r      *sql.DB    // read-only pool
	limits store.Limits
	log    *slog.Logger

	blobs *blobdir.Dir // blobs/ and uploads/ in dir

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// DBName is the database file in the data directory.
const DBName = "track.db"

// Open opens (creating it if needed) the store in dir.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	syncMode := "NORMAL"
	switch opts.Synchronous {
	case "", "normal":
	case "full":
		syncMode = "FULL"
	default:
		return nil, fmt.Errorf("sqlite: Synchronous %q is neither normal nor full", opts.Synchronous)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	limits := opts.Limits.WithDefaults()
	blobs, err := blobdir.Open(dir, "sqlite", blobdir.Options{MaxSize: limits.MaxBlobSize, PartMaxAge: opts.UploadMaxAge})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, DBName)
	dsn := "file:" + path + "?_pragma=page_size(16384)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(" + syncMode + ")&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)&_pragma=mmap_size(1073741824)&_pragma=cache_size(-32768)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	r.SetMaxOpenConns(max(2, runtime.GOMAXPROCS(0)))
	s := &Store{dir: dir, w: w, stmts: newStmtCache(w), r: r, limits: limits, log: opts.Logger, blobs: blobs}
	s.Reader = store.NewReader(querier{s}, dialect)
	return s, nil
}

// Limits returns the limits in force.
func (s *Store) Limits() store.Limits { return s.limits }

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Close closes the database. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stmts.close()
		s.closeErr = errors.Join(s.r.Close(), s.w.Close())
	})
	return s.closeErr
}

// migrations[i] brings the schema from version i to i+1.
var migrations = []string{
	`CREATE TABLE runs (
		id TEXT PRIMARY KEY,
		project TEXT NOT NULL,
		name TEXT NOT NULL,
		status TEXT NOT NULL,
		message TEXT NOT NULL DEFAULT '',
		crashed INTEGER NOT NULL DEFAULT 0,
		progress REAL NOT NULL DEFAULT 0,
		step INTEGER NOT NULL DEFAULT 0,
		start_time INTEGER NOT NULL,
		update_time INTEGER NOT NULL,
		end_time INTEGER NOT NULL DEFAULT 0,
		high_seq INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX runs_project ON runs(project, id);
	CREATE INDEX runs_start ON runs(start_time);
	CREATE TABLE params (run TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, num REAL,
		PRIMARY KEY (run, key)) WITHOUT ROWID;
	CREATE INDEX params_key ON params(key, num);
	CREATE TABLE metadata (run TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
		PRIMARY KEY (run, key)) WITHOUT ROWID;
	CREATE TABLE tags (run TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (run, tag)) WITHOUT ROWID;
	CREATE INDEX tags_tag ON tags(tag);
	CREATE TABLE notes (id INTEGER PRIMARY KEY, run TEXT NOT NULL, time INTEGER NOT NULL, text TEXT NOT NULL);
	CREATE INDEX notes_run ON notes(run, id);
	CREATE TABLE series (run TEXT NOT NULL, key TEXT NOT NULL, scalar INTEGER NOT NULL, n INTEGER NOT NULL,
		PRIMARY KEY (run, key)) WITHOUT ROWID;
	CREATE TABLE chunks (id INTEGER PRIMARY KEY, run TEXT NOT NULL, key TEXT NOT NULL,
		first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
		min_step INTEGER NOT NULL, max_step INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);
	CREATE UNIQUE INDEX chunks_series ON chunks(run, key, first_seq);
	CREATE TABLE latest (run TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL, time INTEGER NOT NULL,
		value BLOB NOT NULL, PRIMARY KEY (run, key)) WITHOUT ROWID;
	CREATE TABLE logs (id INTEGER PRIMARY KEY, run TEXT NOT NULL, time INTEGER NOT NULL, level INTEGER NOT NULL,
		logger TEXT NOT NULL, message TEXT NOT NULL, attrs BLOB);
	CREATE INDEX logs_run ON logs(run, id);
	CREATE TABLE artifacts (run TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
		content_type TEXT NOT NULL, result INTEGER NOT NULL, time INTEGER NOT NULL,
		PRIMARY KEY (run, name)) WITHOUT ROWID;
	CREATE INDEX artifacts_sha ON artifacts(sha256);
	CREATE TABLE counts (run TEXT NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL,
		PRIMARY KEY (run, name)) WITHOUT ROWID;`,
	// 2: chunk summaries (store.SummaryBlock) for downsampled reads; NULL
	// for chunks written before, which are decoded instead.
	`ALTER TABLE chunks ADD COLUMN summary BLOB;`,
	// 3: memo entries (memo.go).
	memoSchema,
	// 4: tombstones of deleted runs (store.ErrDeletedRun): a deleted id
	// stays deleted. An administrator purges one, trackd stopped, with
	// DELETE FROM deleted_runs WHERE id = '…'.
	`CREATE TABLE deleted_runs (id TEXT PRIMARY KEY, time INTEGER NOT NULL) WITHOUT ROWID;`,
	// 5: run queries and archive (store.QueryRuns, store.ArchiveRun).
	runQuerySchema,
	// 6: parent runs (store/parent.go): '' for none.
	parentSchema,
}

// runQuerySchema adds the archived flag of runs and the latest values as
// numbers (filled from the values stored before: fillLatestNum), so that
// queries filter and sort on them in SQL.
const runQuerySchema = `ALTER TABLE runs ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE latest ADD COLUMN num REAL;
	CREATE INDEX latest_key ON latest(key, num);
	CREATE INDEX runs_archived_start ON runs(archived, start_time, id);`

// fillLatestNum sets latest.num of the values stored before the column
// was added.
func fillLatestNum(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT l.run, l.key, l.value FROM latest l JOIN series s ON s.run = l.run AND s.key = l.key WHERE s.scalar = 1`)
	if err != nil {
		return err
	}
	type upd struct {
		run, key string
		num      any
	}
	var ups []upd
	for rows.Next() {
		var u upd
		var v []byte
		if err := rows.Scan(&u.run, &u.key, &v); err != nil {
			rows.Close()
			return err
		}
		if u.num = store.NumOf(v); u.num != nil {
			ups = append(ups, u)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, u := range ups {
		if _, err := tx.ExecContext(ctx, `UPDATE latest SET num = ? WHERE run = ? AND key = ?`, u.num, u.run, u.key); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion is the schema version this package writes.
var SchemaVersion = len(migrations)

func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("sqlite: reading the schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("sqlite: the database has schema version %d; this program knows up to %d (a newer trackd made it)", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration to schema %d: %w", v+1, err)
		}
		if migrations[v] == runQuerySchema {
			if err := fillLatestNum(ctx, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("sqlite: migration to schema %d: %w", v+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: migration to schema %d: %w", v+1, err)
		}
	}
	return nil
}
