package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

// TestMigrationFillsLatestNum: a store written before the run-query
// migration gets its latest values as numbers, so that a metric filter
// finds its runs, and its runs unarchived.
func TestMigrationFillsLatestNum(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	step := slices.Index(migrations, runQuerySchema)
	if step < 0 {
		t.Fatal("runQuerySchema is not a migration")
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:step] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", step)); err != nil {
		t.Fatal(err)
	}
	const id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	num, _ := store.EncodeValue(0.25)
	str, _ := store.EncodeValue("text")
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO runs (id, project, name, status, start_time, update_time) VALUES (?, 'p', 'old', 'finished', 1, 1)`, []any{id}},
		{`INSERT INTO series (run, key, scalar, n) VALUES (?, 'loss', 1, 1), (?, 'label', 0, 1)`, []any{id, id}},
		{`INSERT INTO latest (run, key, step, time, value) VALUES (?, 'loss', 1, 1, ?), (?, 'label', 1, 1, ?)`, []any{id, num, id, str}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tab, err := s.QueryRuns(ctx, store.RunQuery{Filter: "metrics.loss < 0.5 and metrics.label", Columns: []string{"metrics.loss"}})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Total != 1 || len(tab.Runs) != 1 || tab.Values[0][0] != 0.25 || tab.Runs[0].Archived {
		t.Fatalf("after migration: %+v", tab)
	}
	if tab, err := s.QueryRuns(ctx, store.RunQuery{Filter: "metrics.label < 1"}); err != nil || tab.Total != 0 {
		t.Fatalf("a text latest value compares as a number: %v %+v", err, tab)
	}
}
