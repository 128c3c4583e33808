package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigoco/sigoco/track/store"
)

// changeChannel is the LISTEN/NOTIFY channel of committed changes.
const changeChannel = "sigoco_changes"

// changeBuffer is the capacity of the channel Changes returns; a reader
// further behind gets a ChangeResync instead of what did not fit.
const changeBuffer = 4096

var _ store.ChangeFeed = (*Store)(nil)

func newNodeID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// changePayload is a notification's text: "NODE KIND SEQ RUN", well under
// PostgreSQL's 8000-byte limit (a run id is at most store.MaxRunIDLen
// bytes). PostgreSQL folds identical notifications of one transaction into
// one.
func changePayload(node string, kind store.ChangeKind, seq int64, run string) string {
	return node + " " + string(rune(kind)) + " " + strconv.FormatInt(seq, 10) + " " + run
}

// parseChange reads a payload; ok is false for a malformed one or one
// this node sent.
func parseChange(self, payload string) (store.Change, bool) {
	f := strings.SplitN(payload, " ", 4)
	if len(f) != 4 || f[0] == self || len(f[1]) != 1 {
		return store.Change{}, false
	}
	seq, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || store.CheckRunID(f[3]) != nil {
		return store.Change{}, false
	}
	k := store.ChangeKind(f[1][0])
	switch k {
	case store.ChangeBatch, store.ChangeEdit, store.ChangeLogs, store.ChangeDeleted:
	default:
		return store.Change{}, false
	}
	return store.Change{Kind: k, Run: f[3], Seq: seq}, true
}

// notify queues a notification in tx: it is sent when tx commits, and not
// at all if it rolls back.
func (s *Store) notify(ctx context.Context, tx pgx.Tx, kind store.ChangeKind, seq int64, run string) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, changeChannel, changePayload(s.node, kind, seq, run))
	return err
}

// Changes implements store.ChangeFeed over LISTEN on a connection of its
// own (not the pool's), reconnecting with a backoff when it breaks; each
// (re)connection is followed by a ChangeResync. The goroutine ends when
// ctx ends or the store is closed, and closes the channel.
func (s *Store) Changes(ctx context.Context) <-chan store.Change {
	ch := make(chan store.Change, changeBuffer)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(ch)
		defer stop()
		defer cancel()
		s.listen(ctx, ch)
	}()
	return ch
}

func (s *Store) listen(ctx context.Context, ch chan<- store.Change) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := s.listenOnce(ctx, ch)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("postgres: change feed lost; reconnecting", "err", err)
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listenOnce listens on one connection until it fails or ctx ends.
func (s *Store) listenOnce(ctx context.Context, ch chan<- store.Change) error {
	conn, err := pgx.ConnectConfig(ctx, s.connConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		return err
	}
	// What committed while no connection listened is lost: say so.
	lost := true
	for {
		if lost {
			select {
			case ch <- store.Change{Kind: store.ChangeResync}:
				lost = false
			default:
			}
		}
		wctx, wcancel := context.WithTimeout(ctx, time.Second)
		n, err := conn.WaitForNotification(wctx)
		wcancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if wctx.Err() != nil && !conn.IsClosed() {
				continue // a quiet second: retry a pending resync
			}
			return err
		}
		c, ok := parseChange(s.node, n.Payload)
		if !ok || lost {
			continue
		}
		select {
		case ch <- c:
		default:
			lost = true
		}
	}
}

// Leases: one row per run, the last time (the database's clock, Unix ns)
// a node heard from it.
const leaseSchema = `CREATE TABLE leases (run TEXT PRIMARY KEY, node TEXT NOT NULL, heard BIGINT NOT NULL)`

const dbNowNs = `(extract(epoch from clock_timestamp()) * 1e9)::bigint`

var _ store.Leases = (*Store)(nil)

// Heard implements store.Leases.
func (s *Store) Heard(ctx context.Context, runs []string) error {
	if len(runs) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO leases (run, node, heard) SELECT r, $2, `+dbNowNs+` FROM unnest($1::text[]) AS r
		ON CONFLICT (run) DO UPDATE SET node = excluded.node, heard = excluded.heard`, runs, s.node)
	if err != nil {
		return unavailable(fmt.Errorf("postgres: %w", err))
	}
	return nil
}

// Silent implements store.Leases.
func (s *Store) Silent(ctx context.Context, runs []string, timeout time.Duration) ([]string, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	return s.queryStrings(ctx, `SELECT r.id FROM runs r LEFT JOIN leases l ON l.run = r.id
		WHERE r.id = ANY($1::text[]) AND NOT r.crashed AND r.status NOT IN ('finished', 'stopped', 'failed')
		AND (l.heard IS NULL OR l.heard < `+dbNowNs+` - $2)`, runs, timeout.Nanoseconds())
}

// Ready reports whether the database answers and holds this program's
// schema version (trackd's /readyz).
func (s *Store) Ready(ctx context.Context) error {
	v, err := s.Version(ctx)
	if err != nil {
		return unavailable(err)
	}
	if v != SchemaVersion {
		return fmt.Errorf("postgres: the database has schema version %d; this node expects %d", v, SchemaVersion)
	}
	return nil
}

// Nodes: the address each node announced, by its node name.
const nodeSchema = `CREATE TABLE nodes (node TEXT PRIMARY KEY, addr TEXT NOT NULL, seen BIGINT NOT NULL)`

var _ store.Nodes = (*Store)(nil)

// Announce implements store.Nodes.
func (s *Store) Announce(ctx context.Context, addr string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO nodes (node, addr, seen) VALUES ($1, $2, `+dbNowNs+`)
		ON CONFLICT (node) DO UPDATE SET addr = excluded.addr, seen = excluded.seen`, s.node, addr)
	if err != nil {
		return unavailable(fmt.Errorf("postgres: %w", err))
	}
	return nil
}

// RunNode implements store.Nodes.
func (s *Store) RunNode(ctx context.Context, run string) (string, bool, error) {
	var node, addr string
	err := s.pool.QueryRow(ctx, `SELECT l.node, coalesce(n.addr, '') FROM leases l LEFT JOIN nodes n ON n.node = l.node WHERE l.run = $1`, run).Scan(&node, &addr)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, unavailable(fmt.Errorf("postgres: %w", err))
	}
	return addr, node == s.node, nil
}
