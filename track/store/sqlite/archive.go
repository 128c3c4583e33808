package sqlite

import (
	"context"

	"github.com/sigoco/sigoco/track/store"
)

// SetArchived implements store.RunTx.
func (in *ingest) SetArchived(ctx context.Context, archived bool) error {
	_, err := in.exec(ctx, `UPDATE runs SET archived = ? WHERE id = ?`, b2i(archived), in.run)
	return fatal(err)
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
	defer in.tx.Rollback()
	if err := store.ApplyArchive(ctx, in, id, archived); err != nil {
		return unavailable(err)
	}
	return unavailable(in.commit())
}
