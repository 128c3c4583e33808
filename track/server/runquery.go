package server

import (
	"context"

	"github.com/sigoco/sigoco/track/store"
)

// QueryRuns returns one page of the runs table: the runs a filter
// expression selects (docs/dashboard.md, "Filter": e.g. `metrics.loss <
// 0.1 and params.lr = 0.01 and tags.best`), sorted by sort (a column,
// params.KEY or metrics.KEY; "-" first for descending; default "-start"),
// with the values of the chosen columns (params.KEY, metrics.KEY), from
// offset, limit runs (default 100, at most 1000), and the exact number of
// runs selected (total). Archived runs are left out unless the filter
// names archived.
func (t *Tracker) QueryRuns(ctx context.Context, q store.RunQuery) (*store.RunTable, error) {
	return t.s.st.QueryRuns(ctx, q)
}

// ArchiveRun archives an ended run (hidden from the runs list and the
// default queries, everything kept) or, with archived false, restores it.
// A run still open cannot be archived (store.ErrArchiveOpen).
func (t *Tracker) ArchiveRun(ctx context.Context, id string, archived bool) error {
	if _, err := t.s.mayWrite(ctx, id, "archive"); err != nil {
		return err
	}
	if err := t.s.st.ArchiveRun(ctx, id, archived); err != nil {
		return err
	}
	if archived {
		t.s.live.deleted(id)
	} else {
		t.s.live.edited(ctx, id)
	}
	return nil
}
