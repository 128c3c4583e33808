package store

import (
	"context"
	"errors"
	"fmt"
)

// Parent runs.
//
// A run may belong to another: a sweep's elements name the sweep's run
// (track/jobs' create_jobs), an optimizer's trials name the optimizer's
// run. The relation is set once, when the run is made: a KindParent record
// (Key: the parent's id) in the batch that creates the run, after its
// start record. The rule (applier.parent):
//   - the parent is a valid run id other than the run's own, and a run that
//     exists (a deleted parent is refused: its id stays deleted);
//   - it is visible to whoever sends the batch (a RunVisibility in the
//     context: the server's notion of who may see which run);
//   - a run's parent never changes: a parent record in a later batch, or
//     through Edit, is refused, so the relation has no cycles (a parent
//     is always older than its children).
//
// Run.Parent reads it back and RunFilter.Parent lists a run's children.

// ErrBadParent: a parent record the rule refuses.
var ErrBadParent = errors.New("store: bad parent run")

// ParentTx is what a backend's RunTx implements to store the relation (a
// RunTx without it refuses parent records).
type ParentTx interface {
	// RunExists reports whether the run id exists (not deleted).
	RunExists(ctx context.Context, id string) (bool, error)
	// SetParent records the parent of the transaction's run.
	SetParent(ctx context.Context, parent string) error
}

// RunVisibility says whether the caller of an ingest may see a run (nil:
// it may). The server puts one in the context of a client's batch
// (WithVisibility) when not every identity sees every run.
type RunVisibility interface {
	RunVisible(ctx context.Context, run string) error
}

type visibilityKey struct{}

// WithVisibility returns ctx carrying v, consulted by the parent rule.
func WithVisibility(ctx context.Context, v RunVisibility) context.Context {
	return context.WithValue(ctx, visibilityKey{}, v)
}

// parent applies a KindParent record.
func (a *applier) parent(ctx context.Context, r *Record) error {
	if !a.made {
		return fmt.Errorf("%w: a run's parent is set in the batch that creates the run, and never changes", ErrBadParent)
	}
	ptx, ok := a.tx.(ParentTx)
	if !ok {
		return fmt.Errorf("%w: this store does not keep parent runs", ErrBadParent)
	}
	id := r.Key
	if err := CheckRunID(id); err != nil {
		return fmt.Errorf("%w: %v", ErrBadParent, err)
	}
	if id == a.run {
		return fmt.Errorf("%w: a run cannot be its own parent", ErrBadParent)
	}
	exists, err := ptx.RunExists(ctx, id)
	if err != nil {
		return storage(err)
	}
	if !exists {
		return fmt.Errorf("%w: parent run %q does not exist", ErrBadParent, id)
	}
	if v, _ := ctx.Value(visibilityKey{}).(RunVisibility); v != nil {
		if err := v.RunVisible(ctx, id); err != nil {
			return fmt.Errorf("%w: parent run %q: %v", ErrBadParent, id, err)
		}
	}
	if err := ptx.SetParent(ctx, id); err != nil {
		return storage(err)
	}
	a.made = false // once
	return nil
}
