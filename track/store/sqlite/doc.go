// Package sqlite is the SQLite implementation of store.Store, on
// modernc.org/sqlite (pure Go, no cgo).
//
// A data directory holds the database (track.db, in WAL mode) and, beside
// it, the artifacts: blobs/xx/<sha256> for complete ones and
// uploads/<sha256>.part for uploads in progress. Every batch is applied in
// one transaction and acknowledged only after its commit. The schema is
// versioned (PRAGMA user_version) and migrated forward when the store is
// opened; a database from a newer version is refused.
//
// Result series are stored in chunks of store.ChunkPoints points (the tail
// chunk of a series is rewritten until it is full), with a table of the
// latest value of each series for listings.
//
// # Concurrency
//
// A Store is safe for concurrent use. Writes go through one connection, so
// transactions are serialised; reads use a pool of read-only connections and
// see the last committed state (WAL).
package sqlite
