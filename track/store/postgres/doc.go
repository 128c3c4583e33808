// Package postgres is a store.Store in PostgreSQL (github.com/jackc/pgx/v5,
// pgxpool): the backend that several trackd nodes share.
//
// It implements store.RunTx over its own tables, so the record rules are
// those of package store (rules.go), applied inside one PostgreSQL
// transaction per call; it passes the suite of store/storetest.
//
// # Exactly once across nodes
//
// Every call that writes a run first takes a transaction-level advisory
// lock on the run id (pg_advisory_xact_lock), then reads the run's row: two
// nodes applying batches of one run (a client that failed over and
// replays its spool) are serialised by the database, and the run's highest
// applied record number is read and written in the same transaction as the
// records. The chunks of a series are unique by (run, key, first_seq), so a
// chunk cannot be written twice either.
//
// # Migrations
//
// The schema is versioned (table sigoco_schema) and migrated by Open under
// a session advisory lock (pg_advisory_lock): several nodes starting
// together wait for one another and migrate once.
//
// # Artifacts
//
// Blob contents (artifacts) are files named by their sha256 under
// Options.BlobDir, as in the SQLite store; several nodes share them only
// when that directory is shared (NFS). Keeping them in PostgreSQL is not
// done yet (docs/postgres.md).
//
// # Concurrency
//
// A Store is safe for use by many goroutines and by many processes on one
// database.
package postgres
