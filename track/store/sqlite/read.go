package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// DeleteRun implements store.Store.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w %q", store.ErrUnknownRun, id)
	}
	// The tombstone: the id stays deleted (store.ErrDeletedRun).
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO deleted_runs (id, time) VALUES (?, ?)`, id, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	for _, t := range []string{"params", "metadata", "tags", "notes", "series", "chunks", "latest", "logs", "artifacts", "counts"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE run = ?", id); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}
