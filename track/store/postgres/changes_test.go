package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
)

// next waits for the next change on ch matching ok, failing at the
// deadline.
func next(t *testing.T, ch <-chan store.Change, what string, ok func(store.Change) bool) store.Change {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case c, open := <-ch:
			if !open {
				t.Fatalf("feed closed waiting for %s", what)
			}
			if ok(c) {
				return c
			}
		case <-deadline:
			t.Fatalf("no %s within 20 s", what)
		}
	}
}

// TestChangeFeed: node B hears of node A's commits (batch with its high
// seq, edit, logs, delete), not of its own; after its listening connection
// is killed it reconnects and says to resync; Close ends the feed.
func TestChangeFeed(t *testing.T) {
	u := pgtest.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := Open(ctx, u, Options{BlobDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, u, Options{BlobDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ch := b.Changes(ctx)
	next(t, ch, "first resync", func(c store.Change) bool { return c.Kind == store.ChangeResync })

	// Own changes are not delivered: B's batch, then A's.
	const other = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"
	if _, err := b.Ingest(ctx, startBatch(other)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ingest(ctx, startBatch(runID)); err != nil {
		t.Fatal(err)
	}
	c := next(t, ch, "A's start", func(store.Change) bool { return true })
	if c != (store.Change{Kind: store.ChangeBatch, Run: runID, Seq: 1}) {
		t.Fatalf("first change %+v; want A's batch (B's own not delivered)", c)
	}
	if _, err := a.Ingest(ctx, pointBatch(runID, 2, 100)); err != nil {
		t.Fatal(err)
	}
	if c := next(t, ch, "A's points", func(store.Change) bool { return true }); c.Seq != 101 || c.Kind != store.ChangeBatch {
		t.Fatalf("change %+v; want batch up to seq 101", c)
	}
	// A replay stores nothing and notifies nothing; an edit does.
	if _, err := a.Ingest(ctx, pointBatch(runID, 2, 100)); err != nil {
		t.Fatal(err)
	}
	if err := a.Edit(ctx, runID, []store.Record{{Kind: store.KindNote, Value: "hello"}}); err != nil {
		t.Fatal(err)
	}
	if c := next(t, ch, "A's edit", func(store.Change) bool { return true }); c.Kind != store.ChangeEdit || c.Run != runID {
		t.Fatalf("change %+v; want the edit (the replay notifies nothing)", c)
	}
	if _, err := a.AppendLogs(ctx, []store.LogEntry{{Run: runID, Time: store.Now(), Message: "m"}}); err != nil {
		t.Fatal(err)
	}
	next(t, ch, "A's logs", func(c store.Change) bool { return c.Kind == store.ChangeLogs && c.Run == runID })

	// The listening connection killed: a resync, then changes again.
	var n int
	if err := a.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminated %d listeners (%v); want 1", n, err)
	}
	next(t, ch, "resync after reconnecting", func(c store.Change) bool { return c.Kind == store.ChangeResync })
	if err := a.DeleteRun(ctx, runID); err != nil {
		t.Fatal(err)
	}
	next(t, ch, "A's delete", func(c store.Change) bool { return c.Kind == store.ChangeDeleted && c.Run == runID })

	b.Close()
	for range ch {
	}
}

func TestChangePayload(t *testing.T) {
	p := changePayload("n1", store.ChangeBatch, 42, runID)
	if len(p) > 8000 || strings.Count(p, " ") != 3 {
		t.Fatalf("payload %q", p)
	}
	if c, ok := parseChange("n2", p); !ok || c != (store.Change{Kind: store.ChangeBatch, Run: runID, Seq: 42}) {
		t.Fatalf("parsed %+v %v", c, ok)
	}
	for _, bad := range []string{p, "", "n1 b 1", "n1 x 1 " + runID, "n1 b z " + runID, "n1 b 1 ../x", "n1 bb 1 " + runID} {
		if c, ok := parseChange("n1", bad); ok {
			t.Errorf("%q parsed as %+v (own or malformed)", bad, c)
		}
	}
}

// TestLeases: a run is silent only when no node heard from it within the
// timeout; finished and crashed runs are never silent.
func TestLeases(t *testing.T) {
	u := pgtest.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := Open(ctx, u, Options{BlobDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, u, Options{BlobDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const done = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d"
	for _, id := range []string{runID, done} {
		if _, err := a.Ingest(ctx, startBatch(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Ingest(ctx, &store.Batch{Run: done, Records: []store.Record{{Seq: 2, Kind: store.KindStatus, Key: "finished", Time: time.Now().UnixNano()}}}); err != nil {
		t.Fatal(err)
	}
	both := []string{runID, done}
	// Never heard: silent (the caller vouches it has not heard either).
	if got, err := b.Silent(ctx, both, time.Hour); err != nil || !slices.Equal(got, []string{runID}) {
		t.Fatalf("silent %v (%v); want the open run only", got, err)
	}
	// Heard by A: not silent for B within the timeout.
	if err := a.Heard(ctx, both); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Silent(ctx, both, time.Hour); err != nil || len(got) != 0 {
		t.Fatalf("silent %v (%v) just after A heard from it", got, err)
	}
	// Beyond the timeout: silent.
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := b.Silent(ctx, both, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(got, []string{runID}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("silent %v 20 s after the lease; want the open run", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Crashed runs are not listed again.
	if err := b.Edit(ctx, runID, []store.Record{{Kind: store.KindStatus, Key: string(store.StatusCrashed)}}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Silent(ctx, both, 0); err != nil || len(got) != 0 {
		t.Fatalf("silent %v (%v) after the crash mark", got, err)
	}
}
