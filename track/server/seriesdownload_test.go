package server_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// gatedStore holds back every page of chunks after the first until the
// test opens the gate: a download that buffered the whole series before
// writing would send nothing while the gate is shut.
type gatedStore struct {
	*sqlite.Store
	pages atomic.Int32
	gate  chan struct{}
}

func (g *gatedStore) SeriesChunks(ctx context.Context, run, key string, after int64, limit int) ([][]byte, int64, error) {
	if g.pages.Add(1) > 1 {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
	return g.Store.SeriesChunks(ctx, run, key, after, limit)
}

func startGated(t *testing.T) (string, *gatedStore) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedStore{Store: st, gate: make(chan struct{})}
	srv, err := server.New(ctx, g, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close(); <-done; st.Close() })
	return ln.Addr().String(), g
}

func ingestPoints(t *testing.T, st store.Store, run, key string, seq0 int64, n int, value func(i int) float64) {
	t.Helper()
	p := store.Points{Keys: []string{key}}
	for i := range n {
		p.Key = append(p.Key, 0)
		p.Seq = append(p.Seq, seq0+int64(i))
		p.Step = append(p.Step, int64(i)+seq0)
		p.Time = append(p.Time, 1_700_000_000_000_000_000+int64(i)*1000)
		p.Value = append(p.Value, value(i))
	}
	ack, err := st.Ingest(context.Background(), &store.Batch{Run: run, Points: p})
	if err != nil || len(ack.Rejected) > 0 {
		t.Fatalf("ingest: %v %+v", err, ack)
	}
}

// TestSeriesDownloadStreams: a 300,000-point series is downloaded as CSV
// at full resolution, and its first page of points reaches the client
// while the store is still held back from reading the second: the
// response is streamed, not built in memory first.
func TestSeriesDownloadStreams(t *testing.T) {
	addr, g := startGated(t)
	// The whole download's deadline (the client has none of its own): a
	// generous bound, as -race on a loaded machine is slow; the test
	// waits on the response's end, not on time.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := startRecords("r1")
	if _, err := g.Ingest(ctx, &b); err != nil {
		t.Fatal(err)
	}
	const total = 300_000
	for off := 0; off < total; off += 100_000 {
		ingestPoints(t, g, "r1", "x", int64(3+off), 100_000, func(i int) float64 { return float64(off+i) / 4 })
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/runs/r1/series.csv?key=x", nil)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || resp.Header.Get("Content-Length") != "" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	r := csv.NewReader(bufio.NewReader(resp.Body))
	head, err := r.Read()
	if err != nil || len(head) != 3 || head[0] != "step" || head[1] != "time" || head[2] != "value" {
		t.Fatalf("header %v %v", head, err)
	}
	check := func(i int, rec []string) {
		t.Helper()
		step, _ := strconv.ParseInt(rec[0], 10, 64)
		tm, terr := time.Parse(time.RFC3339Nano, rec[1])
		v, _ := strconv.ParseFloat(rec[2], 64)
		if step != int64(i+3) || terr != nil || tm.UnixNano() != 1_700_000_000_000_000_000+int64(i%100_000)*1000 || v != float64(i)/4 {
			t.Fatalf("row %d: %v", i, rec)
		}
	}
	firstPage := 16 * store.ChunkPoints
	for i := range firstPage { // arrives with the gate shut
		rec, err := r.Read()
		if err != nil {
			t.Fatalf("row %d of the first page, with the store held back: %v", i, err)
		}
		check(i, rec)
	}
	if n := g.pages.Load(); n != 2 {
		t.Fatalf("%d pages asked for, want the first read and the second waiting", n)
	}
	close(g.gate)
	for i := firstPage; ; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			if i != total {
				t.Fatalf("%d rows, want %d", i, total)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		check(i, rec)
	}
}

// TestSeriesDownloadFormats: JSON with every point and its time, NaN and
// infinities as text, a values series as JSON values (quoted in CSV), and
// the errors: no key 400, unknown series or run 404.
func TestSeriesDownloadFormats(t *testing.T) {
	addr, g := startGated(t)
	close(g.gate)
	ctx := ctxT(t)
	b := startRecords("r1")
	b.Records = append(b.Records,
		store.Record{Seq: 3, Kind: store.KindResult, Key: "v", Value: map[string]any{"a": `q"t`}, Step: 5, Time: 42},
		store.Record{Seq: 4, Kind: store.KindResult, Key: "v", Value: []any{1.5, "b"}, Step: 6, Time: 43})
	if _, err := g.Ingest(ctx, &b); err != nil {
		t.Fatal(err)
	}
	odd := []float64{0.5, math.NaN(), math.Inf(1), math.Inf(-1), -2}
	ingestPoints(t, g, "r1", "x", 5, len(odd), func(i int) float64 { return odd[i] })

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := noKeepAlive.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	code, body := get("/runs/r1/series.json?key=x")
	var doc struct {
		Run, Key string
		Points   []struct {
			Step, Time int64
			Value      any
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil || doc.Run != "r1" || doc.Key != "x" || len(doc.Points) != len(odd) {
		t.Fatalf("%d %v %s", code, err, body)
	}
	want := []any{0.5, "NaN", "Inf", "-Inf", -2.0}
	for i, p := range doc.Points {
		if p.Step != int64(5+i) || p.Time != 1_700_000_000_000_000_000+int64(i)*1000 || p.Value != want[i] {
			t.Fatalf("point %d: %+v", i, p)
		}
	}
	code, body = get("/runs/r1/series.csv?key=x")
	if code != 200 || body != "step,time,value\n"+
		"5,2023-11-14T22:13:20Z,0.5\n6,2023-11-14T22:13:20.000001Z,NaN\n7,2023-11-14T22:13:20.000002Z,Inf\n"+
		"8,2023-11-14T22:13:20.000003Z,-Inf\n9,2023-11-14T22:13:20.000004Z,-2\n" {
		t.Fatalf("csv %d:\n%s", code, body)
	}
	code, body = get("/runs/r1/series.csv?key=v")
	if code != 200 || body != "step,time,value\n5,1970-01-01T00:00:00.000000042Z,\"{\"\"a\"\":\"\"q\\\"\"t\"\"}\"\n6,1970-01-01T00:00:00.000000043Z,\"[1.5,\"\"b\"\"]\"\n" {
		t.Fatalf("values csv %d:\n%s", code, body)
	}
	code, body = get("/runs/r1/series.json?key=v")
	if code != 200 || body != "{\"run\":\"r1\",\"key\":\"v\",\"points\":[{\"step\":5,\"time\":42,\"value\":{\"a\":\"q\\\"t\"}},\n{\"step\":6,\"time\":43,\"value\":[1.5,\"b\"]}]}\n" {
		t.Fatalf("values json %d:\n%s", code, body)
	}
	for path, wantCode := range map[string]int{
		"/runs/r1/series.csv":            400,
		"/runs/r1/series.csv?key=nope":   404,
		"/runs/nobody/series.json?key=x": 404,
	} {
		if code, body := get(path); code != wantCode {
			t.Errorf("%s: %d %s, want %d", path, code, body, wantCode)
		}
	}
}
