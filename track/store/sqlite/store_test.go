package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sigoco/sigoco/track/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

func openStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const runID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

func startBatch(run string) *store.Batch {
	return &store.Batch{Run: run, Records: []store.Record{
		{Seq: 1, Kind: store.KindStart, Key: "proj", Value: "first", Time: time.Now().UnixNano()},
	}}
}

// points makes n scalar points of key "x" with seqs from seq0.
func points(seq0 int64, n int) store.Points {
	p := store.Points{Keys: []string{"x"}}
	for i := 0; i < n; i++ {
		p.Key = append(p.Key, 0)
		p.Seq = append(p.Seq, seq0+int64(i))
		p.Step = append(p.Step, seq0+int64(i))
		p.Time = append(p.Time, int64(i))
		p.Value = append(p.Value, float64(i%100))
	}
	return p
}

func TestIngestAndRead(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	b := startBatch(runID)
	b.Records = append(b.Records,
		store.Record{Seq: 2, Kind: store.KindParam, Key: "omega", Value: 2.5},
		store.Record{Seq: 3, Kind: store.KindParam, Key: "label", Value: "a"},
		store.Record{Seq: 4, Kind: store.KindTag, Key: "sweep"},
		store.Record{Seq: 5, Kind: store.KindNote, Value: "looks stable"},
		store.Record{Seq: 6, Kind: store.KindStatus, Key: "running"},
		store.Record{Seq: 7, Kind: store.KindResult, Key: "profile", Value: []any{int64(1), int64(2)}, Step: 3},
	)
	b.Points = points(8, 10000)
	ack, err := s.Ingest(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.Rejected) != 0 || ack.HighSeq != 10007 || ack.Applied != 10007 {
		t.Fatalf("ack %+v", ack)
	}
	// The same batch again: all skipped.
	ack, err = s.Ingest(ctx, b)
	if err != nil || ack.Skipped != 10007 || ack.Applied != 0 {
		t.Fatalf("replay: %+v %v", ack, err)
	}
	r, err := s.GetRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.StatusRunning || r.Params["omega"] != 2.5 || r.Params["label"] != "a" || len(r.Notes) != 1 || len(r.Tags) != 1 {
		t.Fatalf("run %+v", r)
	}
	if l := r.Latest["x"]; l.Value != float64(9999%100) || l.Step != 10007 {
		t.Fatalf("latest %+v", l)
	}
	ser, err := s.Series(ctx, runID, "x", store.SeriesQuery{})
	if err != nil || len(ser.Value) != 10000 {
		t.Fatalf("series: %v %d", err, len(ser.Value))
	}
	for i, seq := range ser.Seq {
		if seq != int64(8+i) || ser.Value[i] != float64(i%100) {
			t.Fatalf("point %d: seq %d value %g", i, seq, ser.Value[i])
		}
	}
	ds, err := s.Series(ctx, runID, "x", store.SeriesQuery{MaxPoints: 100})
	if err != nil || len(ds.Value) > 100 || !ds.Downsampled {
		t.Fatalf("downsampled: %v %d", err, len(ds.Value))
	}
	var hasMax bool
	for _, v := range ds.Value {
		hasMax = hasMax || v == 99
	}
	if !hasMax {
		t.Fatal("the peaks did not survive downsampling")
	}
	prof, err := s.Series(ctx, runID, "profile", store.SeriesQuery{})
	if err != nil || len(prof.Values) != 1 {
		t.Fatalf("profile %v %+v", err, prof)
	}
	page, err := s.ListRuns(ctx, store.RunFilter{Project: "proj", Tags: []string{"sweep"}, Params: []store.ParamFilter{{Key: "omega", Min: ptr(2.0), Max: ptr(3.0)}}, Text: "FIRST"})
	if err != nil || len(page.Runs) != 1 {
		t.Fatalf("list: %v %+v", err, page)
	}
	page, err = s.ListRuns(ctx, store.RunFilter{Params: []store.ParamFilter{{Key: "label", Eq: "b"}}})
	if err != nil || len(page.Runs) != 0 {
		t.Fatalf("list by label: %v %+v", err, page)
	}
}

func ptr[T any](v T) *T { return &v }

func TestRejections(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{Limits: store.Limits{MaxValueSize: 1000, MaxSeriesLen: 50}})
	b := startBatch(runID)
	b.Records = append(b.Records,
		store.Record{Seq: 2, Kind: store.KindParam, Key: "a", Value: int64(1)},
		store.Record{Seq: 3, Kind: store.KindParam, Key: "a", Value: int64(1)}, // same: fine
		store.Record{Seq: 4, Kind: store.KindParam, Key: "a", Value: int64(2)}, // conflict
		store.Record{Seq: 5, Kind: store.KindParam, Key: strings.Repeat("k", 300), Value: 1.0},
		store.Record{Seq: 6, Kind: store.KindMeta, Key: "big", Value: strings.Repeat("v", 2000)},
		store.Record{Seq: 7, Kind: store.KindParam, Key: "b", Value: "kept"},
	)
	b.Points = points(8, 60)
	ack, err := s.Ingest(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]error{4: store.ErrParamConflict, 5: store.ErrLimit, 6: store.ErrLimit, 58: store.ErrLimit}
	if len(ack.Rejected) != len(want) {
		t.Fatalf("rejected %+v", ack.Rejected)
	}
	for _, rj := range ack.Rejected {
		if want[rj.Seq] == nil {
			t.Errorf("unexpected rejection %+v", rj)
		}
		t.Logf("seq %d: %s", rj.Seq, rj.Error)
	}
	r, _ := s.GetRun(ctx, runID)
	if r.Params["a"] != int64(1) || r.Params["b"] != "kept" || r.Series[0].Len != 50 {
		t.Fatalf("run %+v", r)
	}
	_, err = s.Ingest(ctx, &store.Batch{Run: "no-such-run", Records: []store.Record{{Seq: 1, Kind: store.KindNote, Value: "x"}}})
	if !errors.Is(err, store.ErrUnknownRun) {
		t.Fatalf("unknown run: %v", err)
	}
}

func TestBlobs(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	data := []byte(strings.Repeat("artifact ", 1000))
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if n, err := s.WriteBlob(ctx, sha, 0, data[:100]); err != nil || n != 100 {
		t.Fatal(n, err)
	}
	st, _ := s.BlobState(ctx, sha)
	if st.Received != 100 || st.Present {
		t.Fatalf("state %+v", st)
	}
	if _, err := s.WriteBlob(ctx, sha, 50, data[50:]); err == nil {
		t.Fatal("a write at the wrong offset was accepted")
	}
	if _, err := s.WriteBlob(ctx, sha, 100, data[100:]); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CommitBlob(ctx, sha); err != nil || n != int64(len(data)) {
		t.Fatal(n, err)
	}
	// A corrupted upload: content that does not match its name.
	bad := strings.Repeat("0", 64)
	s.WriteBlob(ctx, bad, 0, []byte("not zeros"))
	if _, err := s.CommitBlob(ctx, bad); !errors.Is(err, store.ErrChecksum) {
		t.Fatalf("corrupt upload: %v", err)
	}
	if st, _ := s.BlobState(ctx, bad); st.Received != 0 || st.Present {
		t.Fatalf("corrupt upload kept: %+v", st)
	}
}

// TestDownsampleSummaries: a long series read through the chunk summaries
// and through the points (chunks without summaries, as before schema 2)
// keeps its peaks, returns only real points, at most MaxPoints.
func TestDownsampleSummaries(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	if _, err := s.Ingest(ctx, startBatch(runID)); err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	f := func(step int64) float64 { return float64((step * 7919) % 1000) } // a jagged signal
	p := store.Points{Keys: []string{"x"}}
	for i := range int64(n) {
		p.Key, p.Seq, p.Step, p.Time, p.Value = append(p.Key, 0), append(p.Seq, 2+i), append(p.Step, i), append(p.Time, i), append(p.Value, f(i))
	}
	p.Value[54321] = 5000 // a peak
	if _, err := s.Ingest(ctx, &store.Batch{Run: runID, Points: p}); err != nil {
		t.Fatal(err)
	}
	check := func(name string) {
		ser, err := s.Series(ctx, runID, "x", store.SeriesQuery{MaxPoints: 100})
		if err != nil || len(ser.Value) > 100 || !ser.Downsampled {
			t.Fatalf("%s: %v, %d points", name, err, len(ser.Value))
		}
		peak, low := false, false
		for i, v := range ser.Value {
			if ser.Step[i] == 54321 {
				peak = v == 5000
			} else if v != f(ser.Step[i]) {
				t.Fatalf("%s: point at step %d is %g, not a stored point", name, ser.Step[i], v)
			}
			low = low || v == 0
			if i > 0 && ser.Seq[i] <= ser.Seq[i-1] {
				t.Fatalf("%s: points out of order", name)
			}
		}
		if !peak || !low {
			t.Fatalf("%s: the peak (%v) or the minimum (%v) was lost", name, peak, low)
		}
	}
	check("summaries")
	if _, err := s.w.ExecContext(ctx, `UPDATE chunks SET summary = NULL`); err != nil {
		t.Fatal(err)
	}
	check("points")
}

func TestSchemaVersions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	s.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	if v != SchemaVersion {
		t.Fatalf("schema %d, want %d", v, SchemaVersion)
	}
	s.w.ExecContext(ctx, "PRAGMA user_version = 99")
	s.Close()
	if _, err := Open(ctx, dir, Options{}); err == nil || !strings.Contains(err.Error(), "schema version 99") {
		t.Fatalf("a newer database was opened: %v", err)
	}
}

// TestCreateRunThenClient: a run made by a launcher, then its client's
// records from seq 1: all applied.
func TestCreateRunThenClient(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	if err := s.CreateRun(ctx, runID, "jobs", "job 1"); err != nil {
		t.Fatal(err)
	}
	b := startBatch(runID)
	b.Records = append(b.Records, store.Record{Seq: 2, Kind: store.KindParam, Key: "n", Value: int64(3)})
	ack, err := s.Ingest(ctx, b)
	if err != nil || ack.Applied != 2 || len(ack.Rejected) != 0 {
		t.Fatalf("%v %+v", err, ack)
	}
	r, _ := s.GetRun(ctx, runID)
	if r.Name != "job 1" || r.Params["n"] != int64(3) {
		t.Fatalf("%+v", r)
	}
}
