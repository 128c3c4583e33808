package track

import (
	"context"
	"runtime/metrics"
	"time"
)

// System metrics: while a run is open its client samples the process
// every Options.SysMetricsInterval (default DefaultSysMetricsInterval) and
// logs what it sees as ordinary scalar results, so they are stored,
// charted, compared and downloaded as any series (the dashboard groups
// the sys.* series in a section of their own):
//
//	sys.cpu.percent      CPU time (user + system) over wall time since the last sample, in % of one core
//	sys.rss_bytes        resident memory (Linux: /proc/self/statm; elsewhere the peak from getrusage)
//	sys.go.heap_bytes    live and unswept heap objects (runtime/metrics)
//	sys.go.gc_cycles     completed GC cycles since the process started
//	sys.go.gc_pause_ms   GC stop-the-world pause time since the last sample
//	sys.go.goroutines    goroutines alive
//	sys.gpu<i>.*         each GPU's utilization, memory, temperature and power, where nvidia-smi is (sysgpu.go)
//
// The step of a sample is its number (0, 1, 2, …): their x-axis of choice
// is time. The first sample is taken one interval after Start, none at
// End. Sampling reads runtime/metrics (no stop-the-world, unlike
// runtime.ReadMemStats) and costs a few microseconds.
//
// It is on by default; Options.NoSysMetrics or Options.NoMetadata turn
// it off, Options.NoGPUMetrics the GPU series alone.

// DefaultSysMetricsInterval is Options.SysMetricsInterval's default.
const DefaultSysMetricsInterval = 10 * time.Second

// sysSampler samples the process for one run; its goroutine is started
// by startSysMetrics and stopped (and waited for) by stopSysMetrics.
type sysSampler struct {
	ctx    context.Context // ends when the sampler stops or the run closes
	cancel context.CancelFunc
	done   chan struct{}
	gpu    *gpuSampler // nil: no GPU series

	step     int64
	lastWall time.Time
	lastCPU  time.Duration
	lastGC   float64 // seconds of GC pauses so far
	samples  []metrics.Sample
}

const (
	metricHeap       = "/memory/classes/heap/objects:bytes"
	metricGCCycles   = "/gc/cycles/total:gc-cycles"
	metricGoroutines = "/sched/goroutines:goroutines"
	metricPauses     = "/sched/pauses/total/gc:seconds"
)

// startSysMetrics starts the sampler unless the options turn it off.
func (r *Run) startSysMetrics() {
	if r.opts.NoSysMetrics || r.opts.NoMetadata {
		return
	}
	s := &sysSampler{done: make(chan struct{}), gpu: newGPUSampler(&r.opts), lastWall: time.Now(), lastCPU: processCPU()}
	s.ctx, s.cancel = context.WithCancel(r.ctx)
	for _, name := range []string{metricHeap, metricGCCycles, metricGoroutines, metricPauses} {
		s.samples = append(s.samples, metrics.Sample{Name: name})
	}
	s.lastGC = s.read()[metricPauses]
	r.sys = s
	go func() {
		defer close(s.done)
		t := time.NewTicker(r.opts.SysMetricsInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				res := s.sample()
				s.gpu.sample(s.ctx, res)
				if s.ctx.Err() != nil {
					return // stopped during the GPU query: the run is ending, no sample at End
				}
				r.LogResults(res, s.step)
				s.step++
			case <-s.ctx.Done(): // stopped, or the run closed without End
				return
			}
		}
	}()
}

// stopSysMetrics stops the sampler and waits for it: End calls it before
// the run takes no more records.
func (r *Run) stopSysMetrics() {
	if r.sys == nil {
		return
	}
	r.sys.cancel() // also kills an nvidia-smi query in flight
	<-r.sys.done
}

// read returns the runtime metrics as floats (a histogram as its total).
func (s *sysSampler) read() map[string]float64 {
	metrics.Read(s.samples)
	out := make(map[string]float64, len(s.samples))
	for _, m := range s.samples {
		switch m.Value.Kind() {
		case metrics.KindUint64:
			out[m.Name] = float64(m.Value.Uint64())
		case metrics.KindFloat64:
			out[m.Name] = m.Value.Float64()
		case metrics.KindFloat64Histogram:
			out[m.Name] = histogramTotal(m.Value.Float64Histogram())
		}
	}
	return out
}

// histogramTotal estimates the sum of a histogram's samples from its
// buckets' midpoints (GC pauses: what runtime/metrics offers).
func histogramTotal(h *metrics.Float64Histogram) float64 {
	var sum float64
	for i, n := range h.Counts {
		if n == 0 {
			continue
		}
		lo, hi := h.Buckets[i], h.Buckets[i+1]
		switch {
		case lo < -1e300:
			lo = hi
		case hi > 1e300:
			hi = lo
		}
		sum += float64(n) * (lo + hi) / 2
	}
	return sum
}

// sample takes one sample: the values logged at this step.
func (s *sysSampler) sample() map[string]any {
	now := time.Now()
	cpu := processCPU()
	m := s.read()
	out := map[string]any{
		"sys.go.heap_bytes":  m[metricHeap],
		"sys.go.gc_cycles":   m[metricGCCycles],
		"sys.go.goroutines":  m[metricGoroutines],
		"sys.go.gc_pause_ms": max(m[metricPauses]-s.lastGC, 0) * 1e3,
	}
	if wall := now.Sub(s.lastWall); wall > 0 && cpu >= 0 {
		out["sys.cpu.percent"] = 100 * float64(cpu-s.lastCPU) / float64(wall)
	}
	if rss := residentBytes(); rss > 0 {
		out["sys.rss_bytes"] = float64(rss)
	}
	s.lastWall, s.lastCPU, s.lastGC = now, cpu, m[metricPauses]
	return out
}
