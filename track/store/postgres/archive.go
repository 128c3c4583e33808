package postgres

import (
	"context"

	"github.com/sigoco/sigoco/track/store"
)

// SetArchived implements store.RunTx.
func (in *ingest) SetArchived(ctx context.Context, archived bool) error {
	return in.exec(ctx, `UPDATE runs SET archived = $1 WHERE id = $2`, archived, in.run)
}

// ArchiveRun implements store.Store.
func (s *Store) ArchiveRun(ctx context.Context, id string, archived bool) error {
	if err := store.CheckRunID(id); err != nil {
		return err
	}
	in, err := s.begin(ctx, id)
	if err != nil {
		return unavailable(err)
	}
	defer in.rollback(ctx)
	if err := store.ApplyArchive(ctx, in, id, archived); err != nil {
		return unavailable(err)
	}
	if err := in.s.notify(ctx, in.tx, store.ChangeEdit, 0, id); err != nil { // other nodes' live lists (changes.go)
		return unavailable(err)
	}
	return unavailable(in.commit(ctx))
}
