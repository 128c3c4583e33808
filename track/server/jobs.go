package server

import (
	"context"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// What other parts of the server's process (trackd's "jobs": a
// jobs.Recorder) use to record the runs they make, through the same path
// as a run's own batches and logs, so the live state follows.

// Ingest stores a batch for run b.Run as LogBatch does: the run is alive,
// the batch is stored in one transaction, the live state follows. A run
// id store.CheckRunID refuses is an error (*store.RunIDError) before
// anything else; records only the server writes (store.ServerOnly) are
// rejected in the Ack.
func (s *Server) Ingest(ctx context.Context, b *store.Batch) (*store.Ack, error) {
	if err := store.CheckRunID(b.Run); err != nil {
		return nil, err // before the live state hears of the run
	}
	unlock := s.live.lockRun(b.Run)
	defer unlock()
	claim, err := s.mayWrite(ctx, b.Run, "write") // see owner.go
	if err != nil {
		return nil, err
	}
	_, existed, err := s.runOwner(ctx, b.Run)
	if err != nil {
		return nil, err
	}
	if !existed {
		if err := s.admitRun(ctx, b.Run); err != nil { // open runs per identity: quota.go
			s.live.forgetUnstored(b.Run)
			return nil, err
		}
	}
	if err := s.checkNewRun(ctx, b); err != nil { // see freespace.go
		s.live.forgetUnstored(b.Run)
		return nil, err
	}
	s.alive(ctx, b.Run)
	start := time.Now()
	ack, err := s.st.Ingest(ctx, b)
	s.metrics.batch(start, ack, err) // metrics.go
	if err != nil {
		s.live.storeFailed(err) // the dashboard shows the storage state
		s.live.forgetUnstored(b.Run)
		return nil, err
	}
	if claim != "" {
		s.claimRun(ctx, b.Run, claim)
	}
	if !existed {
		// The batch created the run: its client gets the run's write
		// credential (credential.go).
		if ack.Credential, err = s.RunCredential(ctx, b.Run); err != nil {
			s.log.Warn("track: minting a run's write credential", "run", b.Run, "err", err)
		}
	}
	s.live.batch(ctx, b, ack)
	return ack, nil
}

// AppendLogs stores log records (a job's output lines) and adds them to
// their runs' live log tails. It returns the store's count of records
// dropped.
func (s *Server) AppendLogs(ctx context.Context, logs []store.LogEntry) (int, error) {
	dropped, err := s.st.AppendLogs(ctx, logs)
	if err != nil {
		s.live.storeFailed(err)
		return dropped, err
	}
	s.publishLogs(ctx, logs)
	return dropped, nil
}

// Edited tells the live state that run changed in the store.
func (s *Server) Edited(ctx context.Context, run string) { s.live.edited(ctx, run) }

// Alive counts as a heartbeat of run.
func (s *Server) Alive(ctx context.Context, run string) { s.alive(ctx, run) }
