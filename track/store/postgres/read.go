package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// DeleteRun implements store.Store.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// The run's lock (as its writers take it): a batch being applied
	// finishes first.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, id); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	res, err := tx.Exec(ctx, `DELETE FROM runs WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if res.RowsAffected() == 0 {
		return fmt.Errorf("%w %q", store.ErrUnknownRun, id)
	}
	// The tombstone: the id stays deleted (store.ErrDeletedRun).
	if _, err := tx.Exec(ctx, `INSERT INTO deleted_runs (id, time) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	for _, t := range []string{"params", "metadata", "tags", "notes", "series", "chunks", "latest", "logs", "artifacts", "counts"} {
		if _, err := tx.Exec(ctx, "DELETE FROM "+t+" WHERE run = $1", id); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM leases WHERE run = $1`, id); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := s.notify(ctx, tx, store.ChangeDeleted, 0, id); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}
