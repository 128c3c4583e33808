package store

import (
	"context"
	"errors"
	"fmt"
)

// ErrArchiveOpen: a run whose status is not final (and that is not
// crashed) cannot be archived: an archived run is hidden from the lists,
// and a run still reporting would be lost from sight.
var ErrArchiveOpen = errors.New("store: an open run cannot be archived")

// ApplyArchive archives a run (hidden from the default lists, QueryRuns
// and ListRuns, everything kept) or restores it, within one backend
// transaction: the run must exist and, to be archived, have ended
// (a final status, or crashed).
func ApplyArchive(ctx context.Context, tx RunTx, id string, archived bool) error {
	if err := CheckRunID(id); err != nil {
		return err
	}
	st, ok, err := tx.LoadRun(ctx)
	if err != nil {
		return err
	}
	if !ok {
		del, err := tx.Deleted(ctx)
		if err != nil {
			return err
		}
		if del {
			return deletedRun(id)
		}
		return fmt.Errorf("%w %q", ErrUnknownRun, id)
	}
	if archived && !st.Status.Final() && !st.Crashed {
		return fmt.Errorf("%w: run %q is %s", ErrArchiveOpen, id, st.Status)
	}
	return tx.SetArchived(ctx, archived)
}
