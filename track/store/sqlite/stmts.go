package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// The write path's prepared statements.
//
// database/sql runs a query with arguments through the driver, which
// prepares (parses and plans) the statement, runs it and finalizes it,
// every time: for a live run's batch of a few points, a fifth of its ingest
// went to SQLite's parser (BenchmarkIngestSmall, issue #26). So each
// statement a write transaction runs is prepared once on the writer and
// reused through Tx.StmtContext, which finds it already prepared on the
// connection.
//
// The writer has one connection, held by the transaction that runs the
// statement, so a statement cannot be prepared there: database/sql would
// wait for the connection the caller holds. A statement met for the first
// time runs unprepared and is noted; the next transaction prepares the
// noted ones before it begins, holding no connection. The queries are the
// constant SQL of this package, so the set is small and fixed.

// stmtCache holds the writer's prepared statements by their SQL. It is
// safe for concurrent use.
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	ready  map[string]*sql.Stmt
	missed map[string]bool
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, ready: map[string]*sql.Stmt{}, missed: map[string]bool{}}
}

// get returns the prepared statement for query, or nil (and notes it)
// when it has not been prepared yet.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.ready[query]
	if st == nil && !c.closed {
		c.missed[query] = true
	}
	return st
}

// prepareMissed prepares the statements get noted. The caller must not
// hold the writer's connection. A statement that fails to prepare is
// left to run unprepared (and noted again).
func (c *stmtCache) prepareMissed(ctx context.Context) {
	c.mu.Lock()
	if len(c.missed) == 0 || c.closed {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.missed))
	for q := range c.missed {
		queries = append(queries, q)
	}
	clear(c.missed)
	c.mu.Unlock()
	for _, q := range queries {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.closed || c.ready[q] != nil {
			st.Close()
		} else {
			c.ready[q] = st
		}
		c.mu.Unlock()
	}
}

// close closes the prepared statements; get finds none afterwards.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.ready {
		st.Close()
		delete(c.ready, q)
	}
}

// exec runs query in the transaction, prepared when it can be.
func (in *ingest) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := in.s.stmts.get(query); st != nil {
		return in.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return in.tx.ExecContext(ctx, query, args...)
}

// queryRow is exec for a query that returns at most one row.
func (in *ingest) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := in.s.stmts.get(query); st != nil {
		return in.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return in.tx.QueryRowContext(ctx, query, args...)
}

// query is exec for a query that returns rows.
func (in *ingest) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := in.s.stmts.get(query); st != nil {
		return in.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return in.tx.QueryContext(ctx, query, args...)
}
