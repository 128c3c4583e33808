package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// serveSeries streams one series at full resolution as CSV or JSON
// (GET /runs/{id}/series.csv?key=K, …/series.json?key=K):
//
//	CSV:  step,time,value          time RFC 3339 (UTC, ns); value a number, NaN, Inf, -Inf or a JSON value
//	JSON: {"run": ID, "key": K, "points": [{"step": S, "time": T, "value": V}, …]}   time Unix ns, as export.json
//
// The points are read a page of chunks at a time (store.StreamSeries) and
// written out before the next page is read, so a response of any length
// holds one page in memory; each page reserves its memory from the read
// budget (Options.Bounds.MaxReadBytes) while it is read and written.
func (s *Server) serveSeries(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, key := r.PathValue("id"), r.URL.Query().Get("key")
		pager, ok := s.st.(store.ChunkPager)
		if !ok {
			http.Error(w, "track: this store cannot stream series", http.StatusNotImplemented)
			return
		}
		if key == "" {
			httpError(w, fmt.Errorf("%w: the query needs ?key=", store.ErrBadRecord))
			return
		}
		ctx := r.Context()
		n, scalar, err := pager.SeriesLen(ctx, id, key)
		if err != nil {
			httpError(w, err)
			return
		}
		per := int64(64)
		if !scalar {
			if size, err := s.st.RunValueSize(ctx, id, store.KindResult, key); err == nil {
				per += readCost(size)
			}
		}
		bp := &budgetPager{ChunkPager: pager, s: s, cost: min(n, streamPagePoints) * per}
		defer bp.release()

		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		name := "series-" + id + "-" + key + "." + format
		h.Set("Content-Disposition", contentDisposition("attachment", name))
		if format == "csv" {
			h.Set("Content-Type", "text/csv; charset=utf-8")
		} else {
			h.Set("Content-Type", "application/json")
		}
		bw := bufio.NewWriterSize(w, 64<<10)
		flush := func() error {
			if err := bw.Flush(); err != nil {
				return err
			}
			return http.NewResponseController(w).Flush()
		}
		bp.beforeNext = flush // a page is out before the next is read
		var werr error
		if format == "csv" {
			werr = writeSeriesCSV(ctx, bw, bp, id, key)
		} else {
			werr = writeSeriesJSON(ctx, bw, bp, id, key)
		}
		if werr == nil {
			werr = flush()
		}
		if werr != nil {
			// The status line is gone: cutting the body short is all that
			// tells the client (a truncated chunked response).
			if ctx.Err() == nil {
				s.log.Warn("track: series download cut short", "run", id, "key", key, "err", werr)
			}
			panic(http.ErrAbortHandler)
		}
	}
}

// streamPagePoints is the most points one page of StreamSeries holds.
const streamPagePoints = 16 * store.ChunkPoints

// budgetPager reserves each page's memory from the read budget, from
// before it is read until the next page is asked for (or release).
type budgetPager struct {
	store.ChunkPager
	s          *Server
	cost       int64
	held       func()
	beforeNext func() error
}

func (b *budgetPager) SeriesChunks(ctx context.Context, run, key string, after int64, limit int) ([][]byte, int64, error) {
	if b.held != nil {
		if err := b.beforeNext(); err != nil {
			return nil, 0, err
		}
		b.release()
	}
	rel, err := b.s.reads.acquire(ctx, b.cost)
	if err != nil {
		return nil, 0, err
	}
	b.held = rel
	return b.ChunkPager.SeriesChunks(ctx, run, key, after, limit)
}

func (b *budgetPager) release() {
	if b.held != nil {
		b.held()
		b.held = nil
	}
}

func writeSeriesCSV(ctx context.Context, w *bufio.Writer, p store.ChunkPager, run, key string) error {
	w.WriteString("step,time,value\n")
	var buf []byte
	return store.StreamSeries(ctx, p, run, key, func(c *store.Chunk) error {
		for i := range c.Seq {
			buf = strconv.AppendInt(buf[:0], c.Step[i], 10)
			buf = append(buf, ',')
			buf = time.Unix(0, c.Time[i]).UTC().AppendFormat(buf, time.RFC3339Nano)
			buf = append(buf, ',')
			if c.Scalar() {
				buf = appendCSVNumber(buf, c.Value[i])
			} else {
				v, err := store.DecodeValue(c.Values[i])
				if err != nil {
					return err
				}
				j, err := json.Marshal(jsonable(v))
				if err != nil {
					return err
				}
				buf = appendCSVQuoted(buf, j)
			}
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeSeriesJSON(ctx context.Context, w *bufio.Writer, p store.ChunkPager, run, key string) error {
	head, _ := json.Marshal(struct {
		Run string `json:"run"`
		Key string `json:"key"`
	}{run, key})
	w.Write(head[:len(head)-1])
	w.WriteString(`,"points":[`)
	first := true
	var buf []byte
	err := store.StreamSeries(ctx, p, run, key, func(c *store.Chunk) error {
		for i := range c.Seq {
			buf = buf[:0]
			if !first {
				buf = append(buf, ",\n"...)
			}
			first = false
			buf = append(buf, `{"step":`...)
			buf = strconv.AppendInt(buf, c.Step[i], 10)
			buf = append(buf, `,"time":`...)
			buf = strconv.AppendInt(buf, c.Time[i], 10)
			buf = append(buf, `,"value":`...)
			var v any
			if c.Scalar() {
				v = jsonable(c.Value[i])
			} else {
				d, err := store.DecodeValue(c.Values[i])
				if err != nil {
					return err
				}
				v = jsonable(d)
			}
			j, err := json.Marshal(v)
			if err != nil {
				return err
			}
			buf = append(append(buf, j...), '}')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = w.WriteString("]}\n")
	return err
}

// appendCSVNumber writes a float as Go's shortest form, NaN and ±Inf as
// NaN, Inf, -Inf (what pandas and spreadsheets read).
func appendCSVNumber(b []byte, v float64) []byte {
	switch x := jsonable(v).(type) {
	case string:
		return append(b, x...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendCSVQuoted writes s as one quoted CSV field (RFC 4180).
func appendCSVQuoted(b, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		if c == '"' {
			b = append(b, '"')
		}
		b = append(b, c)
	}
	return append(b, '"')
}
