package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/sigoco/sigoco/track/store"
)

// Export returns a run with all its series and logs as one JSON document:
//
//	{"run": {...}, "series": {"key": {"step": [...], "time": [...], "value": [...]}}, "logs": [...]}
//
// Values JSON lacks are written as text: NaN and ±Inf as "NaN", "Inf",
// "-Inf", maps with non-string keys with their keys formatted.
func Export(ctx context.Context, st store.Store, id string) ([]byte, error) {
	r, err := st.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	series := map[string]any{}
	for _, si := range r.Series {
		s, err := st.Series(ctx, id, si.Key, store.SeriesQuery{})
		if err != nil {
			return nil, err
		}
		m := map[string]any{"step": s.Step, "time": s.Time, "seq": s.Seq}
		if si.Scalar {
			m["value"] = jsonable(s.Value)
		} else {
			m["value"] = jsonable(s.Values)
		}
		series[si.Key] = m
	}
	var logs []store.LogEntry
	var after int64
	for {
		page, err := st.Logs(ctx, store.LogQuery{Run: id, After: after, Limit: 10000})
		if err != nil {
			return nil, err
		}
		logs = append(logs, page.Logs...)
		if page.Next == 0 {
			break
		}
		after = page.Next
	}
	for i := range logs {
		logs[i].Attrs, _ = jsonable(logs[i].Attrs).(map[string]any)
	}
	rr := *r
	rr.Params, _ = jsonable(r.Params).(map[string]any)
	rr.Metadata, _ = jsonable(r.Metadata).(map[string]any)
	rr.Counts, _ = jsonable(r.Counts).(map[string]any)
	latest := map[string]store.Latest{}
	for k, v := range r.Latest {
		v.Value = jsonable(v.Value)
		latest[k] = v
	}
	rr.Latest = latest
	doc := map[string]any{"format": "sigoco-track-export 1", "run": rr, "series": series, "logs": logs}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, fmt.Errorf("track: exporting run %s: %w", id, err)
	}
	return b, nil
}

// jsonable converts a decoded value into one encoding/json accepts.
func jsonable(v any) any {
	switch v := v.(type) {
	case float64:
		switch {
		case math.IsNaN(v):
			return "NaN"
		case math.IsInf(v, 1):
			return "Inf"
		case math.IsInf(v, -1):
			return "-Inf"
		}
		return v
	case float32:
		return jsonable(float64(v))
	case []float64:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonable(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonable(x)
		}
		return out
	case map[string]any:
		if v == nil {
			return nil
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = jsonable(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[fmt.Sprint(k)] = jsonable(x)
		}
		return out
	case complex128:
		return map[string]any{"real": jsonable(real(v)), "imag": jsonable(imag(v))}
	}
	return v
}
