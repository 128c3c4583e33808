// Package storetest is the conformance suite of track/store: one set of
// cases every Store passes, whatever keeps the data (the shape of vault's
// sdk/physical ExerciseBackend). A backend's tests call
//
//	storetest.Run(t, func(t *testing.T) store.Store { … a new, empty store … })
//
// and each case opens its own store. The cases read the store's limits
// from a Limits() store.Limits method when it has one (DefaultLimits
// otherwise); open stores with Limits (small) so that every limit case is
// reachable cheaply. Memo cases run when the store is a store.MemoStore.
//
// Every ingest rule has a case here: exactly-once replays, write-once
// params, the status state machine, tags and notes, series chunks and
// latest values, logs, artifacts and blobs, memo entries, limits, deletes
// and tombstones, sequence gaps, resume, list and filter, run queries
// (every operator of the filter grammar, sorting, paging, counts,
// columns) and archive.
package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// Limits are small limits for the store under test, so every limit case
// runs quickly.
var Limits = store.Limits{
	MaxKeyLen:       64,
	MaxValueSize:    4096,
	MaxBatchRecords: 20_000,
	MaxSeriesLen:    15_000,
	MaxKeysPerRun:   20,
	MaxBlobSize:     1 << 20,
}

// Run runs every case against stores made by open, each in a subtest.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			lim := store.DefaultLimits
			if l, ok := s.(interface{ Limits() store.Limits }); ok {
				lim = l.Limits()
			}
			c.fn(t, &env{t: t, s: s, lim: lim, ctx: context.Background()})
		})
	}
}

var cases = []struct {
	name string
	fn   func(t *testing.T, e *env)
}{
	{"StartAndRead", testStartAndRead},
	{"FirstBatchStarts", testFirstBatchStarts},
	{"BadRunID", testBadRunID},
	{"ExactlyOnceReplay", testExactlyOnce},
	{"WriteOnceParams", testWriteOnceParams},
	{"StatusForward", testStatusForward},
	{"ImplicitRunning", testImplicitRunning},
	{"CrashedFlag", testCrashedFlag},
	{"TagsAndNotes", testTagsAndNotes},
	{"ServerOnlyRecords", testServerOnly},
	{"SeriesChunks", testSeriesChunks},
	{"SmallBatches", testSmallBatches},
	{"StreamSeries", testStreamSeries},
	{"ValueSeries", testValueSeries},
	{"Logs", testLogs},
	{"Artifacts", testArtifacts},
	{"Blobs", testBlobs},
	{"Memo", testMemo},
	{"Limits", testLimits},
	{"SeriesLimit", testSeriesLimit},
	{"Delete", testDelete},
	{"DeletedStaysDeleted", testTombstone},
	{"SeqGapRefused", testSeqGap},
	{"Resume", testResume},
	{"CreateRunThenClient", testCreateRun},
	{"ListAndFilter", testList},
	{"QueryFilter", testQueryFilter},
	{"QuerySort", testQuerySort},
	{"QueryPaging", testQueryPaging},
	{"QueryColumns", testQueryColumns},
	{"Archive", testArchive},
	{"Parent", testParent},
	{"QueryChildren", testQueryChildren},
	{"Text", testText},
}

// env is one case's store and helpers.
type env struct {
	t   *testing.T
	s   store.Store
	lim store.Limits
	ctx context.Context
}

// run ids (valid for CheckRunID).
const (
	runA = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	runB = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"
	runC = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d"
)

func now() int64 { return time.Now().UnixNano() }

// start returns a batch holding run's start record (seq 1) and recs
// numbered from 2.
func start(run, project, name string, recs ...store.Record) *store.Batch {
	b := &store.Batch{Run: run, Records: []store.Record{{Seq: 1, Kind: store.KindStart, Key: project, Value: name, Time: now()}}}
	return withRecords(b, 2, recs...)
}

// withRecords appends recs to b numbered from seq.
func withRecords(b *store.Batch, seq int64, recs ...store.Record) *store.Batch {
	for i, r := range recs {
		r.Seq = seq + int64(i)
		if r.Time == 0 {
			r.Time = now()
		}
		b.Records = append(b.Records, r)
	}
	return b
}

// points makes n scalar points of key with seqs and steps from seq0.
func points(key string, seq0 int64, n int) store.Points {
	p := store.Points{Keys: []string{key}}
	for i := range n {
		p.Key = append(p.Key, 0)
		p.Seq = append(p.Seq, seq0+int64(i))
		p.Step = append(p.Step, seq0+int64(i))
		p.Time = append(p.Time, int64(i))
		p.Value = append(p.Value, float64(i))
	}
	return p
}

func (e *env) ingest(b *store.Batch) *store.Ack {
	e.t.Helper()
	ack, err := e.s.Ingest(e.ctx, b)
	if err != nil {
		e.t.Fatalf("Ingest: %v", err)
	}
	return ack
}

// ingestClean ingests b and fails on any rejection.
func (e *env) ingestClean(b *store.Batch) *store.Ack {
	e.t.Helper()
	ack := e.ingest(b)
	if len(ack.Rejected) > 0 {
		e.t.Fatalf("rejected: %+v", ack.Rejected)
	}
	return ack
}

// record ingests one record at seq into an existing run and returns its
// rejection ("" when applied).
func (e *env) record(run string, seq int64, r store.Record) string {
	e.t.Helper()
	ack := e.ingest(withRecords(&store.Batch{Run: run}, seq, r))
	if len(ack.Rejected) > 0 {
		return ack.Rejected[0].Error
	}
	return ""
}

func (e *env) get(id string) *store.Run {
	e.t.Helper()
	r, err := e.s.GetRun(e.ctx, id)
	if err != nil {
		e.t.Fatalf("GetRun: %v", err)
	}
	return r
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want an error wrapping %q", what, err, target)
	}
	if !strings.HasPrefix(err.Error(), "store: ") {
		t.Errorf("%s: %q is not prefixed \"store: \"", what, err)
	}
}
