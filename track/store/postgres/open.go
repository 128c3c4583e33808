package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/blobdir"
)

// Options configures Open. The zero value is valid except for BlobDir,
// which is required unless BlobsInDatabase.
type Options struct {
	// Limits bounds what runs may store (store.DefaultLimits for zero
	// fields).
	Limits store.Limits
	// BlobDir is the directory of artifact contents (blobs/, uploads/);
	// nodes that share a database share it only if it is a shared
	// directory. Required.
	BlobDir string
	// BlobsInDatabase keeps artifact contents in the database instead, in
	// chunks of BlobChunkSize (blobsdb.go): every node sees every upload
	// without a shared directory. BlobDir is then unused.
	BlobsInDatabase bool
	// Logger receives warnings (a corrupt chunk, a gap in a run's
	// records). Default: discarded.
	Logger *slog.Logger
	// UploadMaxAge: a partial upload (uploads/<sha256>.part, or a row of
	// blob_uploads and its chunks) not written for this long is removed, at Open and then on uploads at most every
	// UploadMaxAge/24. Default 24 h (blobdir.DefaultPartMaxAge).
	UploadMaxAge time.Duration
}

// Store is a store.Store in a PostgreSQL database.
type Store struct {
	*store.Reader // the read methods (reader.go)

	pool   *pgxpool.Pool
	limits store.Limits
	log    *slog.Logger

	blobs blobStore // *blobdir.Dir in Options.BlobDir, or *dbBlobs

	// node names this store in notifications (changes.go) and leases, so
	// that a node skips its own changes.
	node       string
	connConfig *pgx.ConnConfig // for the change feed's own connection
	ctx        context.Context // cancelled by Close: ends the change feed
	cancel     context.CancelFunc
	wg         sync.WaitGroup // the change feed's goroutine

	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a libpq
// key=value string; pgx reads PGPASSWORD, PGPASSFILE and the other libpq
// variables, so credentials need not be in the URL), migrates its schema
// and returns the store.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.BlobDir == "" && !opts.BlobsInDatabase {
		return nil, errors.New("postgres: Options.BlobDir is required (or BlobsInDatabase)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	limits := opts.Limits.WithDefaults()
	var blobs blobStore
	if !opts.BlobsInDatabase {
		dir, err := blobdir.Open(opts.BlobDir, "postgres", blobdir.Options{MaxSize: limits.MaxBlobSize, PartMaxAge: opts.UploadMaxAge})
		if err != nil {
			return nil, err
		}
		blobs = dir
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if opts.BlobsInDatabase {
		db, err := openDBBlobs(ctx, pool, limits.MaxBlobSize, opts.UploadMaxAge, nil)
		if err != nil {
			pool.Close()
			return nil, err
		}
		blobs = db
	}
	st := &Store{pool: pool, limits: limits, log: opts.Logger, blobs: blobs, node: newNodeID(), connConfig: cfg.ConnConfig}
	st.ctx, st.cancel = context.WithCancel(context.Background())
	st.Reader = store.NewReader(querier{st}, dialect)
	return st, nil
}

// Limits returns the limits in force.
func (s *Store) Limits() store.Limits { return s.limits }

// Close ends the change feed, then closes the connection pool (waiting
// for the connections in use to be released). It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.pool.Close()
	})
	return nil
}

// Node returns the random name of this store's connection to the database
// (in notifications and leases).
func (s *Store) Node() string { return s.node }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// migrateLock is the key of the session advisory lock under which Open
// migrates ("SIGOCO" in ASCII).
const migrateLock int64 = 0x5349474f434f

// migrations[i] brings the schema from version i to i+1. Times are Unix
// nanoseconds, values canonical msgpack (store.EncodeValue).
var migrations = []string{
	`CREATE TABLE runs (
		id TEXT PRIMARY KEY,
		project TEXT NOT NULL,
		name TEXT NOT NULL,
		status TEXT NOT NULL,
		message TEXT NOT NULL DEFAULT '',
		crashed BOOLEAN NOT NULL DEFAULT false,
		progress DOUBLE PRECISION NOT NULL DEFAULT 0,
		step BIGINT NOT NULL DEFAULT 0,
		start_time BIGINT NOT NULL,
		update_time BIGINT NOT NULL,
		end_time BIGINT NOT NULL DEFAULT 0,
		high_seq BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX runs_project ON runs(project, id);
	CREATE INDEX runs_start ON runs(start_time);
	CREATE TABLE params (run TEXT NOT NULL, key TEXT NOT NULL, value BYTEA NOT NULL, num DOUBLE PRECISION,
		PRIMARY KEY (run, key));
	CREATE INDEX params_key ON params(key, num);
	CREATE TABLE metadata (run TEXT NOT NULL, key TEXT NOT NULL, value BYTEA NOT NULL, PRIMARY KEY (run, key));
	CREATE TABLE tags (run TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (run, tag));
	CREATE INDEX tags_tag ON tags(tag);
	CREATE TABLE notes (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, run TEXT NOT NULL, time BIGINT NOT NULL, text TEXT NOT NULL);
	CREATE INDEX notes_run ON notes(run, id);
	CREATE TABLE series (run TEXT NOT NULL, key TEXT NOT NULL, scalar BOOLEAN NOT NULL, n BIGINT NOT NULL,
		PRIMARY KEY (run, key));
	CREATE TABLE chunks (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, run TEXT NOT NULL, key TEXT NOT NULL,
		first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL,
		min_step BIGINT NOT NULL, max_step BIGINT NOT NULL, n INTEGER NOT NULL, data BYTEA NOT NULL, summary BYTEA,
		UNIQUE (run, key, first_seq));
	CREATE TABLE latest (run TEXT NOT NULL, key TEXT NOT NULL, step BIGINT NOT NULL, time BIGINT NOT NULL,
		value BYTEA NOT NULL, PRIMARY KEY (run, key));
	CREATE TABLE logs (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, run TEXT NOT NULL, time BIGINT NOT NULL, level INTEGER NOT NULL,
		logger TEXT NOT NULL, message TEXT NOT NULL, attrs BYTEA);
	CREATE INDEX logs_run ON logs(run, id);
	CREATE TABLE artifacts (run TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL,
		content_type TEXT NOT NULL, result BOOLEAN NOT NULL, time BIGINT NOT NULL, PRIMARY KEY (run, name));
	CREATE INDEX artifacts_sha ON artifacts(sha256);
	CREATE TABLE counts (run TEXT NOT NULL, name TEXT NOT NULL, value BYTEA NOT NULL, PRIMARY KEY (run, name));
	CREATE TABLE deleted_runs (id TEXT PRIMARY KEY, time BIGINT NOT NULL);`,
	// 2: memo entries (memo.go).
	memoSchema,
	// 3: run queries and archive (store.QueryRuns, store.ArchiveRun).
	runQuerySchema,
	// 4: run leases across nodes (changes.go).
	leaseSchema,
	// 5: nodes' addresses (changes.go).
	nodeSchema,
	// 6: parent runs (store/parent.go): '' for none.
	parentSchema,
	// 7: blobs in the database (blobsdb.go).
	blobSchema,
	// 8: the nodes following jobs (jobleases.go).
	jobLeaseSchema,
}

// runQuerySchema adds the archived flag of runs and the latest values as
// numbers (filled from the values stored before: fillLatestNum), so that
// queries filter and sort on them in SQL.
const runQuerySchema = `ALTER TABLE runs ADD COLUMN archived BOOLEAN NOT NULL DEFAULT false;
	ALTER TABLE latest ADD COLUMN num DOUBLE PRECISION;
	CREATE INDEX latest_key ON latest(key, num);
	CREATE INDEX runs_archived_start ON runs(archived, start_time, id);`

// fillLatestNum sets latest.num of the values stored before the column
// was added.
func fillLatestNum(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT l.run, l.key, l.value FROM latest l JOIN series s ON s.run = l.run AND s.key = l.key WHERE s.scalar`)
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
		if _, err := tx.Exec(ctx, `UPDATE latest SET num = $1 WHERE run = $2 AND key = $3`, u.num, u.run, u.key); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion is the schema version this package writes.
var SchemaVersion = len(migrations)

// migrate brings the schema to SchemaVersion under a session advisory
// lock, held on one connection: a node that starts while another migrates
// waits, then finds the schema current.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		return fmt.Errorf("postgres: taking the migration lock: %w", err)
	}
	defer func() {
		// A lock left by a broken connection ends with its session.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLock); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS sigoco_schema (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	v := 0
	err = conn.QueryRow(ctx, `SELECT version FROM sigoco_schema`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := conn.Exec(ctx, `INSERT INTO sigoco_schema (version) VALUES (0)`); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("postgres: reading the schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("postgres: the database has schema version %d; this program knows up to %d (a newer trackd made it)", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return err
			}
			if migrations[v] == runQuerySchema {
				if err := fillLatestNum(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `UPDATE sigoco_schema SET version = $1`, v+1)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration to schema %d: %w", v+1, err)
		}
	}
	return nil
}

// Version returns the database's schema version.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT version FROM sigoco_schema`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: %w", err)
	}
	return v, nil
}
