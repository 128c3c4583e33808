package dashboard_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/dashboard"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// stack is a tracking server (all protocols on one port, as trackd runs
// it) and the dashboard in front of its HTTP on a second port. The
// dashboard's Next is a reverse proxy to the server's own HTTP handler
// (trackd puts the dashboard in front of server.Handler on one port, see
// docs/dashboard.md); its calls go in-process (server.Local), as trackd's.
type stack struct {
	t        *testing.T
	dir      string
	addr     string // the tracking server (rpc, sync, logs, HTTP)
	dashAddr string // the dashboard
	srv      *server.Server
	st       *sqlite.Store
	tracker  *rpc.Local       // the dashboard's "tracker"
	jobs     dashboard.Caller // its "jobs" (startStackWith), or nil
	stop     func()
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 100; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln
		}
		time.Sleep(50 * time.Millisecond) // the port of a server just stopped
	}
	t.Fatal(err)
	return nil
}

// startStack starts a stack over the store in dir ("" for a new one) on
// the given addresses ("" picks free ports).
func startStack(t *testing.T, dir, addr, dashAddr string, opts server.Options) *stack {
	t.Helper()
	return startStackWith(t, dir, addr, dashAddr, opts, nil)
}

// startStackWith is startStack with more parts built on the server before
// it serves (jobs), as trackd builds them: more returns the Caller of the
// dashboard's "jobs" target, or nil.
func startStackWith(t *testing.T, dir, addr, dashAddr string, opts server.Options, more func(*server.Server) dashboard.Caller) *stack {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if dashAddr == "" {
		dashAddr = "127.0.0.1:0"
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, st, opts)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	var jobsCaller dashboard.Caller
	if more != nil {
		jobsCaller = more(srv)
	}
	ln := listen(t, addr)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	s := &stack{t: t, dir: dir, addr: ln.Addr().String(), srv: srv, st: st, jobs: jobsCaller}
	if s.tracker, err = srv.Local(server.TargetName); err != nil {
		t.Fatal(err)
	}
	back, _ := url.Parse("http://" + s.addr)
	proxy := httputil.NewSingleHostReverseProxy(back)
	proxy.ErrorLog = nil
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	h := dashboard.New(dashboard.Options{Tracker: s.tracker, Jobs: jobsCaller, Next: proxy})
	dln := listen(t, dashAddr)
	s.dashAddr = dln.Addr().String()
	// As trackd does: the Host check in front of everything, so the
	// browser tests show it lets the dashboard's own traffic through.
	hosts, err := dashboard.NewHostCheck(dashboard.HostOptions{Listen: s.dashAddr})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: hosts.Wrap(h), ReadHeaderTimeout: 10 * time.Second}
	hdone := make(chan struct{})
	go func() { defer close(hdone); hs.Serve(dln) }()
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		hs.Close() // hijacked (WebSocket) connections are closed by the server below
		srv.Close()
		ln.Close()
		<-done
		<-hdone
		st.Close()
	}
	t.Cleanup(s.stop)
	return s
}

// restart stops the stack and starts it again on the same ports and store.
func (s *stack) restart() *stack {
	s.stop()
	return startStack(s.t, s.dir, s.addr, s.dashAddr, server.Options{})
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var errTimeout = errors.New("timed out")
