package track

import "context"

type ctxKey struct{}

// NewContext returns a context carrying run.
func NewContext(ctx context.Context, run *Run) context.Context {
	return context.WithValue(ctx, ctxKey{}, run)
}

// FromContext returns the run ctx carries, or nil. The methods of a nil
// *Run do nothing, so code deep in a simulation may log unconditionally.
func FromContext(ctx context.Context) *Run {
	r, _ := ctx.Value(ctxKey{}).(*Run)
	return r
}
