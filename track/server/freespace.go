package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/sigoco/sigoco/track/store"
)

// ErrLowSpace: the free space where the store writes is below
// Options.MinFree. It comes wrapped in a *store.UnavailableError, so a
// client keeps (spools) what it was refused and sends it again later.
var ErrLowSpace = errors.New("free space below the watermark")

// checkFree refuses a write that would grow the store by something new
// while the free space is below the watermark. A reading that fails does
// not refuse anything (the store's own errors still classify a full disk).
func (s *Server) checkFree() error {
	if s.opts.FreeSpace == nil || s.opts.MinFree <= 0 {
		return nil
	}
	free, err := s.opts.FreeSpace()
	if err != nil {
		s.log.Warn("free space not read", "err", err)
		return nil
	}
	if free < s.opts.MinFree {
		return &store.UnavailableError{Err: fmt.Errorf("%w: %d bytes free, below %d (trackd --min-free): new runs and artifact uploads are refused until space is freed", ErrLowSpace, free, s.opts.MinFree)}
	}
	return nil
}

// checkNewRun refuses, below the watermark, a batch that starts a run the
// store does not hold (a start record of a new run); the batches of runs
// already stored, replays of their start included, still go in.
func (s *Server) checkNewRun(ctx context.Context, b *store.Batch) error {
	starts := false
	for i := range b.Records {
		starts = starts || b.Records[i].Kind == store.KindStart
	}
	if !starts {
		return nil
	}
	err := s.checkFree()
	if err == nil || s.live.stored(b.Run) || s.runExists(ctx, b.Run) == nil {
		return nil
	}
	return err
}
