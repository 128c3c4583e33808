package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/logfwd"
)

// The logfwd suite times Forwarder.Handle with a live server and with the
// server down (targets: median <= 1000 ns each), and records delivered end
// to end to a logfwd.Server on loopback (target >= 1,000,000/s). The peer
// is slog.JSONHandler: its Handle into io.Discard, and JSON lines over one
// TCP connection decoded by the receiver (a synchronous forwarder).
func init() { register("logfwd", benchLogfwd) }

// countingHandler is the server-side handler: it only counts.
type countingHandler struct{ n atomic.Uint64 }

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(context.Context, slog.Record) error {
	h.n.Add(1)
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// benchRecord is a typical controller record.
func benchRecord() slog.Record {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "attenuation set", 0)
	r.AddAttrs(slog.String("channel", "ch2"), slog.Int("step", 42), slog.Float64("db", 5.5))
	return r
}

// lfMedianNs calls h.Handle rounds*batch times and returns the median over
// rounds of the mean time per call within a batch (timing single calls
// would mostly measure the clock).
func lfMedianNs(h slog.Handler, rounds, batch int) float64 {
	r := benchRecord()
	ctx := context.Background()
	per := make([]float64, rounds)
	for i := range per {
		start := time.Now()
		for range batch {
			h.Handle(ctx, r)
		}
		per[i] = float64(time.Since(start).Nanoseconds()) / float64(batch)
	}
	slices.Sort(per)
	return per[len(per)/2]
}

func lfServer(h slog.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := logfwd.NewServer(h, logfwd.ServerOptions{})
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	return ln.Addr().String(), func() { srv.Close(); <-done }, nil
}

func benchLogfwd(cfg config) ([]result, error) {
	rounds, batch, n := 2000, 64, 3_000_000
	if cfg.quick {
		rounds, n = 500, 500_000
	}
	var out []result
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Handle with a live server; the queue is large enough that the
	// measured path is the one that queues, not the one that drops.
	count := &countingHandler{}
	addr, stop, err := lfServer(count)
	if err != nil {
		return nil, err
	}
	defer stop()
	fwd, err := logfwd.NewForwarder(addr, logfwd.ForwarderOptions{Source: "bench", QueueSize: 1 << 20, QueueBytes: 1 << 30})
	if err != nil {
		return nil, err
	}
	slog.New(fwd).Info("warm up")
	if err := fwd.Flush(ctx); err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	live := lfMedianNs(fwd, rounds, batch)
	if err := fwd.Flush(ctx); err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	fwd.Close()
	peer := lfMedianNs(slog.NewJSONHandler(io.Discard, nil), rounds, batch)
	out = append(out,
		result{"logfwd.handle.ns", live, "ns"},
		result{"logfwd.handle.json_discard.ns", peer, "ns"},
		result{"logfwd.handle.vs_json_discard", peer / live, "x"},
	)

	// Handle with nothing listening: after the first QueueSize records
	// every call takes the drop path.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	downAddr := ln.Addr().String()
	ln.Close()
	down, err := logfwd.NewForwarder(downAddr, logfwd.ForwarderOptions{Source: "bench"})
	if err != nil {
		return nil, err
	}
	out = append(out, result{"logfwd.handle_down.ns", lfMedianNs(down, rounds, batch), "ns"})
	down.Close()

	// Throughput end to end: one goroutine logs n records, yielding
	// whenever the queue is nearly full so that none is dropped; the figure
	// is records the server handled per second until the forwarder's Flush
	// returned.
	const queue = 1 << 16
	fwd, err = logfwd.NewForwarder(addr, logfwd.ForwarderOptions{Source: "bench", QueueSize: queue})
	if err != nil {
		return nil, err
	}
	defer fwd.Close()
	slog.New(fwd).Info("warm up")
	if err := fwd.Flush(ctx); err != nil {
		return nil, err
	}
	before := count.n.Load()
	r := benchRecord()
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		for fwd.Stats().Queued > queue-1000 {
			runtime.Gosched()
		}
		for range 1000 {
			fwd.Handle(ctx, r)
		}
	}
	if err := fwd.Flush(ctx); err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	elapsed := time.Since(start).Seconds()
	delivered := count.n.Load() - before
	st := fwd.Stats()
	out = append(out,
		result{"logfwd.throughput.records_per_s", float64(delivered) / elapsed, "1/s"},
		result{"logfwd.throughput.dropped", float64(st.Dropped), "records"},
	)

	peerRate, err := lfJSONLinesRate(n / 4)
	if err != nil {
		return nil, err
	}
	out = append(out,
		result{"logfwd.throughput.json_tcp.records_per_s", peerRate, "1/s"},
		result{"logfwd.throughput.vs_json_tcp", float64(delivered) / elapsed / peerRate, "x"},
	)
	return out, nil
}

// lfJSONLinesRate is the peer: slog.JSONHandler writing to a buffered TCP
// connection, the receiver decoding each line into a map. It returns
// records per second end to end.
func lfJSONLinesRate(n int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	got := make(chan error, 1)
	var received atomic.Uint64
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		defer c.Close()
		sc := bufio.NewScanner(c)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				got <- err
				return
			}
			received.Add(1)
		}
		got <- sc.Err()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(c, 64<<10)
	h := slog.NewJSONHandler(w, nil)
	r := benchRecord()
	start := time.Now()
	for range n {
		h.Handle(context.Background(), r)
	}
	w.Flush()
	c.Close()
	if err := <-got; err != nil {
		return 0, err
	}
	return float64(received.Load()) / time.Since(start).Seconds(), nil
}
