package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// OpsOptions configures the operators' routes /healthz, /readyz and
// /metrics, which the server answers in front of Options.HTTP (a load
// balancer or Prometheus reaches a node by its address, which a Host
// check would refuse).
type OpsOptions struct {
	// Identity, if set, tells who an HTTP request is (trackd: the access
	// file's bearer tokens and users, as for the dashboard).
	Identity func(r *http.Request) (auth.Identity, error)
	// HostAllowed, if set, is the Host check a request without a viewer
	// identity must pass (trackd: the dashboard's).
	HostAllowed func(r *http.Request) bool
	// ReadyTimeout bounds the store check of /readyz. Default 2 s.
	ReadyTimeout time.Duration
}

// Readier is implemented by stores that can tell whether they are
// reachable and migrated (the PostgreSQL store); for others /readyz reads
// one run.
type Readier interface {
	Ready(ctx context.Context) error
}

// opsHandler answers /healthz, /readyz and /metrics before next:
//   - /healthz: 200 while the process serves (liveness), to anyone;
//   - /readyz: 200 when the store answers and its schema is current, else
//     503 with the reason, to anyone (it reveals no data);
//   - /metrics: Prometheus text format, to a request carrying a viewer (or
//     higher) identity from any address and Host, or from a loopback
//     address that passes the Host check (a DNS-rebinding page in a local
//     browser does not); without access control at all (no Options.Auth
//     and no Identity) it is open as the rest of the server is.
func (s *Server) opsHandler(next http.Handler) http.Handler {
	o := s.opts.Ops
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 2 * time.Second
	}
	prom := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprintln(w, "ok")
		case "/readyz":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			ctx, cancel := context.WithTimeout(r.Context(), o.ReadyTimeout)
			defer cancel()
			if err := s.ready(ctx); err != nil {
				s.metrics.storeErrors.WithLabelValues("ready").Inc()
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, "not ready:", err)
				return
			}
			fmt.Fprintln(w, "ready")
		case "/metrics":
			if code := s.metricsAllowed(r); code != 0 {
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, "metrics: a viewer identity (a token of the access file) is needed, or a loopback address", code)
				return
			}
			prom.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// metricsAllowed returns 0 if r may read /metrics, else the HTTP status
// refusing it.
func (s *Server) metricsAllowed(r *http.Request) int {
	o := s.opts.Ops
	if o.Identity != nil {
		if id, err := o.Identity(r); err == nil && id.Method != "" && id.Method != auth.MethodAnonymous && id.Allows(auth.Viewer) {
			return 0
		}
	}
	if o.HostAllowed != nil && !o.HostAllowed(r) {
		return http.StatusMisdirectedRequest
	}
	if o.Identity == nil && s.opts.Auth == nil {
		return 0
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return 0
		}
	}
	return http.StatusUnauthorized
}

func (s *Server) ready(ctx context.Context) error {
	if rd, ok := s.st.(Readier); ok {
		return rd.Ready(ctx)
	}
	_, err := s.st.ListRuns(ctx, store.RunFilter{Limit: 1})
	return err
}
