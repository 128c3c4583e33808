package server

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sigoco/sigoco/track/store"
)

// metrics are the server's Prometheus metrics (served at /metrics,
// health.go), in a registry of the server's own: several servers in one
// process do not share them.
type metrics struct {
	reg          *prometheus.Registry
	records      prometheus.Counter
	batches      *prometheus.CounterVec
	batchSeconds prometheus.Histogram
	storeErrors  *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.records = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sigoco_track_ingested_records_total",
		Help: "Records and points stored through this node (replays not counted).",
	})
	m.batches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sigoco_track_batches_total",
		Help: "Batches received, by result: stored, refused (the batch's fault) or unavailable (the store's).",
	}, []string{"result"})
	m.batchSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "sigoco_track_batch_seconds",
		Help:    "Time to store one batch (the store's transaction, commit included).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sigoco_track_store_errors_total",
		Help: "Failures of the store that were not a record's fault, by operation.",
	}, []string{"op"})
	m.reg.MustRegister(m.records, m.batches, m.batchSeconds, m.storeErrors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sigoco_track_open_runs",
			Help: "Runs this node's live state holds as open (not final, not crashed).",
		}, func() float64 { return float64(s.live.openCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sigoco_track_viewers",
			Help: "Live-state subscribers (dashboards over WebSocket, sync clients).",
		}, func() float64 { return float64(s.pub.Stats().Subscribers) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sigoco_track_connections",
			Help: "Connections open on the port, counted towards its limit (--max-conns), this scrape's included.",
		}, func() float64 { return float64(s.mux.Conns()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sigoco_track_log_queue",
			Help: "Log records received and not yet stored.",
		}, func() float64 { return float64(s.sink.queued()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, r := range []string{"stored", "refused", "unavailable"} {
		m.batches.WithLabelValues(r)
	}
	return m
}

// batch counts one batch given to the store.
func (m *metrics) batch(start time.Time, ack *store.Ack, err error) {
	switch {
	case err == nil:
		m.batches.WithLabelValues("stored").Inc()
		m.batchSeconds.Observe(time.Since(start).Seconds())
		m.records.Add(float64(ack.Applied))
	case errors.Is(err, store.ErrUnavailable):
		m.batches.WithLabelValues("unavailable").Inc()
		m.storeErrors.WithLabelValues("ingest").Inc()
	default:
		m.batches.WithLabelValues("refused").Inc()
	}
}

// Metrics returns the registry /metrics serves, for a caller to add its
// own collectors (trackd adds jobs by state).
func (s *Server) Metrics() *prometheus.Registry { return s.metrics.reg }

func (l *Live) openCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, lr := range l.state {
		if lr.open() && !lr.crashed {
			n++
		}
	}
	return n
}

func (h *logSink) queued() int {
	h.q.mu.Lock()
	defer h.q.mu.Unlock()
	return len(h.q.pending)
}
