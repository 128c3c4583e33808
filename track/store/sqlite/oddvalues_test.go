package sqlite

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

// nested returns a list nested depth levels deep.
func nested(depth int) any {
	var v any = int64(1)
	for range depth {
		v = []any{v}
	}
	return v
}

// TestOddValuesRefused: the values issue 22 found stored (invalid UTF-8
// keys, NaN/Inf params, step MinInt64, a 900-deep param that no reader can
// return) are refused at ingest, each with its reason; the rest of the
// batch is stored and the run reads back.
func TestOddValuesRefused(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	b := startBatch(runID)
	odd := []struct {
		rec  store.Record
		want string
	}{
		{store.Record{Kind: store.KindParam, Key: "bad\xffkey", Value: 1.0}, "UTF-8"},
		{store.Record{Kind: store.KindParam, Key: "nan", Value: math.NaN()}, "finite"},
		{store.Record{Kind: store.KindParam, Key: "inf", Value: math.Inf(1)}, "finite"},
		{store.Record{Kind: store.KindParam, Key: "ninf", Value: []any{1.0, math.Inf(-1)}}, "finite"},
		{store.Record{Kind: store.KindParam, Key: "deep", Value: nested(900)}, "MaxValueDepth"},
		{store.Record{Kind: store.KindMeta, Key: "deep", Value: nested(65)}, "MaxValueDepth"},
		{store.Record{Kind: store.KindParam, Key: "str", Value: map[string]any{"k\xfe": "v"}}, "UTF-8"},
		{store.Record{Kind: store.KindMeta, Key: "str", Value: "v\xc3"}, "UTF-8"},
		{store.Record{Kind: store.KindTag, Key: "t\xff"}, "UTF-8"},
		{store.Record{Kind: store.KindNote, Value: "n\xff"}, "UTF-8"},
		{store.Record{Kind: store.KindStep, Step: math.MinInt64}, "step"},
		{store.Record{Kind: store.KindResult, Key: "r", Value: "x", Step: math.MaxInt64}, "step"},
	}
	for i := range odd {
		r := odd[i].rec
		r.Seq = int64(2 + i)
		b.Records = append(b.Records, r)
	}
	okSeq := int64(2 + len(odd))
	b.Records = append(b.Records,
		store.Record{Seq: okSeq, Kind: store.KindParam, Key: "ok", Value: nested(63)},
		store.Record{Seq: okSeq + 1, Kind: store.KindResult, Key: "r", Value: math.NaN(), Step: -store.MaxStep}, // a NaN result is a fact
	)
	b.Points = store.Points{Keys: []string{"x"}, Key: []int64{0, 0}, Seq: []int64{okSeq + 2, okSeq + 3}, Step: []int64{math.MinInt64, 5}, Time: []int64{1, 2}, Value: []float64{1, 2}}
	ack, err := s.Ingest(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, rj := range ack.Rejected {
		got[rj.Seq] = rj.Error
	}
	for i, o := range odd {
		e, ok := got[int64(2+i)]
		if !ok || !strings.Contains(e, o.want) {
			t.Errorf("%s %q: rejection %q, want one naming %q", o.rec.Kind, o.rec.Key, e, o.want)
		}
	}
	if e := got[okSeq+2]; !strings.Contains(e, "step") {
		t.Errorf("point at step MinInt64: rejection %q", e)
	}
	if len(ack.Rejected) != len(odd)+1 {
		t.Errorf("rejected %+v", ack.Rejected)
	}
	r, err := s.GetRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Params) != 1 || r.Params["ok"] == nil || r.Step != 5 { // step: the largest of the stored points' (the refused ones count for nothing)
		t.Errorf("params %v, step %d", r.Params, r.Step)
	}
	sr, err := s.Series(ctx, runID, "x", store.SeriesQuery{})
	if err != nil || len(sr.Step) != 1 || sr.Step[0] != 5 {
		t.Errorf("series x %+v, %v", sr, err)
	}
	if err := s.CreateRun(ctx, "other", "p", "name\xff"); !errors.Is(err, store.ErrBadRecord) {
		t.Errorf("CreateRun with an invalid UTF-8 name: %v", err)
	}
}

// TestTagsBounded: a run holds at most MaxTagsPerRun tags.
func TestTagsBounded(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{Limits: store.Limits{MaxTagsPerRun: 3}})
	b := startBatch(runID)
	for i, tag := range []string{"a", "b", "c", "d", "a"} {
		b.Records = append(b.Records, store.Record{Seq: int64(2 + i), Kind: store.KindTag, Key: tag})
	}
	ack, err := s.Ingest(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.Rejected) != 1 || ack.Rejected[0].Seq != 5 || !strings.Contains(ack.Rejected[0].Error, "MaxTagsPerRun") {
		t.Errorf("rejected %+v", ack.Rejected)
	}
}
