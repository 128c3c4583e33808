// Package store defines what the tracking server stores and the interface
// of its storage: runs, write-once params, metadata, tags, notes, result
// series (value, step, time) kept in chunks, the latest value of each
// series, logs and content-addressed artifacts.
//
// The types here are also what travels on the wire between a track client
// and the tracking server (as rpc arguments, msgpack-encoded), which is why
// this package has no dependency beyond msgpack: a simulation importing
// track does not link a database. The SQLite implementation is in
// store/sqlite; a PostgreSQL one can follow behind the same interface.
//
// # Exactly once
//
// Every record a client sends carries a sequence number, unique and
// increasing within its run (the run id and the number form the record's
// id). A client sends its records in order, one batch at a time, and the
// store keeps, in the same transaction as the records, the highest number
// it has applied for each run. A replayed batch (after a lost
// acknowledgement, or from a spool on disk) is therefore applied only for
// the records above that mark: however often it is replayed, each record is
// stored once.
//
// A number further past that mark than a batch can reach is refused
// (SeqGapError): one forged record far ahead would otherwise make every
// later record of the run's own client look like a replay.
//
// # Rules and backends
//
// The record rules — exactly once, write-once params, the status state
// machine (status.go), tombstones of deleted runs, limits, what each kind
// of record means — are written once here, free of SQL (rules.go), and
// applied to a backend's RunTx (backend.go); a backend only stores. Every
// backend passes the suite in store/storetest.
//
// # Limits
//
// Limits bounds keys, values, batches and series; every check fails with an
// error wrapping ErrLimit that names the limit and the offending item.
//
// # Concurrency
//
// A Store is safe for use by many goroutines. Batches of one run are applied
// in the order they are received.
package store
