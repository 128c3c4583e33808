package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// DefaultPort is the tracking server's port.
const DefaultPort = 3250

// TargetName is the rpc target of the tracking server.
const TargetName = "tracker"

// Options configures a Server. The zero value is valid.
type Options struct {
	// TLS, if set, makes every connection TLS (with client certificates
	// checked when the config demands them).
	TLS *tls.Config
	// HandshakeTimeout bounds the TLS handshake and banner of a connection.
	// Default wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxFrameSize bounds one rpc message. Default 64 MiB (a batch of
	// 200,000 points is about 8 MiB).
	MaxFrameSize int
	// HeartbeatTimeout: a run that is not final and sent nothing (batch or
	// heartbeat) for this long is marked crashed. Default 20 s.
	HeartbeatTimeout time.Duration
	// LiveInterval is how often live state (latest values, recent points,
	// log tails) is published: changes in between coalesce, so a run
	// logging a million points per second costs a few mods per interval.
	// Default 100 ms.
	LiveInterval time.Duration
	// RecentPoints is how many recent points of each series a run's live
	// state keeps. Default 200.
	RecentPoints int
	// LogTail is how many log records a run's live state keeps. Default 100.
	LogTail int
	// RunsInLive bounds the finished runs listed in the "runs" notifier
	// (the newest). Default 500.
	RunsInLive int
	// RunsOpenInLive bounds the open runs listed in the "runs" notifier
	// (the newest; the others are counted in the "server" notifier and
	// read with list_runs). Default 500.
	RunsOpenInLive int
	// RunLinger is how long a run's own notifier stays after the run ended
	// or was last watched. Default 2 min.
	RunLinger time.Duration
	// Bounds bounds what reading runs costs (live state, get_run,
	// concurrent large reads); see ReadBounds for the defaults.
	Bounds ReadBounds
	// Logger receives the server's diagnostics. Default: discarded.
	Logger *slog.Logger
	// Conns tunes the shared port: its connection caps (MaxConns,
	// MaxConnsPerAddr), IdleTimeout, KeepAlive and the HTTP server's
	// timeouts (HTTP). Its TLS, HandshakeTimeout and Logger are the
	// fields above. The zero value gives wire.MuxOptions' defaults.
	Conns wire.MuxOptions
	// Ops configures /healthz, /readyz and /metrics (health.go), answered
	// in front of the handler given to SetHTTPHandler.
	Ops OpsOptions
	// Nodes configures forwarding to other servers on a shared store
	// (remote.go).
	Nodes NodeOptions
	// Auth, if set, authenticates every connection on every protocol but
	// HTTP (which the handler given to SetHTTPHandler guards; trackd puts
	// the dashboard's access control there): rpc and its calls (each checked
	// with Authorize against the identity's role), sync subscribers,
	// log forwarders (runners and admins only) and expose connections
	// (runners and admins). docs/security.md. Default: everyone may do
	// everything (trackd on loopback without an access file).
	Auth auth.Authenticator
	// MinFree is the free-space watermark, in bytes: while FreeSpace
	// reports less, a batch starting a new run and every write_blob are
	// refused with a *store.UnavailableError wrapping ErrLowSpace (clients
	// spool and retry), before the store's disk fills; batches of runs
	// already stored still go in. 0: no watermark (trackd: --min-free,
	// default 1 GiB).
	MinFree int64
	// FreeSpace reports the bytes free where the store writes (trackd: a
	// statfs of --data). Nil: free space is not watched.
	FreeSpace func() (int64, error)
	// MaxUploadBytes bounds the partial (written, not yet committed)
	// artifact upload bytes of one identity (every client is one identity
	// without Auth): a write_blob beyond it is refused with a
	// *store.LimitError (Limit "MaxUploadBytes") until that identity
	// commits its uploads or they go stale (UploadMaxAge). Each upload
	// counts at least 4 KiB. Default: the larger of 1 GiB and the store's
	// MaxBlobSize (4 GiB by default), so one artifact of the largest size
	// always fits. uploads.go, docs/security.md.
	MaxUploadBytes int64
	// MaxUploadTotal bounds the partial upload bytes of all identities
	// (Limit "MaxUploadTotal"). Default 4 × MaxUploadBytes.
	MaxUploadTotal int64
	// UploadMaxAge: an upload not written for this long no longer counts
	// (the store removes its .part at the same age). Default 24 h, the
	// stores' default; set it to theirs.
	UploadMaxAge time.Duration
	// Now is the clock of the upload counts. Default time.Now.
	Now func() time.Time
	// Quotas bounds what one identity holds (open runs, memo leases):
	// quota.go, docs/security.md. The zero value gives the defaults.
	Quotas Quotas
}

func (o *Options) defaults() {
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = 64 << 20
	}
	if o.Nodes.Identity == "" {
		o.Nodes.Identity = DefaultNodeIdentity
	}
	if o.Nodes.CallTimeout <= 0 {
		o.Nodes.CallTimeout = 10 * time.Second
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = 20 * time.Second
	}
	if o.LiveInterval <= 0 {
		o.LiveInterval = 100 * time.Millisecond
	}
	if o.RecentPoints <= 0 {
		o.RecentPoints = 200
	}
	if o.LogTail <= 0 {
		o.LogTail = 100
	}
	if o.RunsInLive <= 0 {
		o.RunsInLive = 500
	}
	if o.RunsOpenInLive <= 0 {
		o.RunsOpenInLive = 500
	}
	if o.RunLinger <= 0 {
		o.RunLinger = 2 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Bounds.defaults()
	if o.UploadMaxAge <= 0 {
		o.UploadMaxAge = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// uploadDefaults sets MaxUploadBytes and MaxUploadTotal, which depend on
// the store's MaxBlobSize.
func (o *Options) uploadDefaults(st store.Store) {
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = 1 << 30
		if ls, ok := st.(interface{ Limits() store.Limits }); ok {
			o.MaxUploadBytes = max(o.MaxUploadBytes, ls.Limits().MaxBlobSize)
		}
	}
	if o.MaxUploadTotal <= 0 {
		o.MaxUploadTotal = 4 * o.MaxUploadBytes
	}
}

// Server is a tracking server over a store.
type Server struct {
	opts    Options
	st      store.Store
	log     *slog.Logger
	tracker *Tracker
	rpc     *rpc.Server
	pub     *syncstruct.Publisher
	logs    *logfwd.Server
	sink    *logSink
	live    *Live
	expose  *exposeRegistry
	reads   *byteSem   // bounds the memory of large reads (Options.Bounds.MaxReadBytes)
	uploads *uploads   // partial upload bytes per identity (uploads.go)
	leases  *leaseBook // runs heard from, for a store shared by servers (remote.go)
	metrics *metrics   // metrics.go
	owners  owners     // see owner.go
	mux     *wire.Mux
	http    *http.ServeMux // the server's own routes (Handler)
	front   http.Handler   // what the port's HTTP goes to: http, or SetHTTPHandler's

	// ctx is the server's lifetime: cancelled by Close.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the goroutines New starts

	closeOnce sync.Once

	shutdownMu sync.Mutex
	shutdown   shutdownRequest // see shutdown.go
}

// New makes a server over st (which the caller keeps and closes after the
// server). It starts the live-state and heartbeat goroutines; call Serve to
// accept connections and Close to stop.
func New(ctx context.Context, st store.Store, opts Options) (*Server, error) {
	opts.defaults()
	opts.uploadDefaults(st)
	s := &Server{opts: opts, st: st, log: opts.Logger, http: http.NewServeMux(), reads: newByteSem(opts.Bounds.MaxReadBytes)}
	s.shutdown.ch = make(chan struct{})
	s.uploads = newUploads(opts.MaxUploadBytes, opts.MaxUploadTotal, opts.UploadMaxAge, opts.Now)
	opts.Auth = s.withRunCredentials(opts.Auth) // run credentials (credential.go) on every protocol
	s.opts.Auth = opts.Auth
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.pub = syncstruct.NewPublisher(nil, syncstruct.PublisherOptions{Logger: opts.Logger, Auth: opts.Auth})
	var err error
	s.live, err = newLive(s)
	if err != nil {
		s.pub.Close()
		return nil, err
	}
	if err := s.live.load(ctx); err != nil {
		s.pub.Close()
		return nil, err
	}
	s.expose = newExposeRegistry(s)
	s.tracker = &Tracker{s: s}
	targets := map[string]any{TargetName: s.tracker}
	ropts := rpc.ServerOptions{
		Description:      "sigoco tracking server",
		AllowParallel:    true,
		MaxFrameSize:     opts.MaxFrameSize,
		HandshakeTimeout: opts.HandshakeTimeout,
		Logger:           opts.Logger,
	}
	var logAuth auth.Authenticator
	if opts.Auth != nil {
		ropts.Auth, ropts.Authorize = opts.Auth, Authorize
		logAuth = auth.AtLeast(opts.Auth, auth.Runner, "forwarding logs")
	}
	s.rpc, err = rpc.NewServer(targets, ropts)
	if err != nil {
		s.pub.Close()
		return nil, err
	}
	s.sink = newLogSink(s)
	s.logs = logfwd.NewServer(s.sink, logfwd.ServerOptions{HandshakeTimeout: opts.HandshakeTimeout, Logger: opts.Logger, Auth: logAuth})
	mo := opts.Conns
	mo.TLS, mo.HandshakeTimeout, mo.Logger = opts.TLS, opts.HandshakeTimeout, opts.Logger
	s.mux = wire.NewMux(mo)
	s.mux.Handle(wire.BannerRPC, s.rpc)
	s.mux.Handle(wire.BannerSiPyCoRPC, s.rpc)
	s.mux.Handle(wire.BannerSync, s.pub)
	s.mux.Handle(wire.BannerSiPyCoSync, s.pub)
	s.mux.Handle(wire.BannerLog, s.logs)
	s.mux.Handle(wire.BannerSiPyCoLog, s.logs)
	s.mux.Handle(wire.BannerExpose, wire.ConnHandler(s.expose))
	s.routes()
	s.front = s.http
	s.metrics = newMetrics(s)
	// /healthz, /readyz, /metrics (health.go) in front of everything else.
	s.mux.HandleHTTP(s.opsHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.front.ServeHTTP(w, r) })))
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.live.run(s.ctx) }()
	go func() { defer s.wg.Done(); s.reap(s.ctx) }()
	go func() { defer s.wg.Done(); s.sink.run(s.ctx) }()
	s.startFollow() // changes and leases of a store shared by servers (remote.go)
	return s, nil
}

// Store returns the server's store.
func (s *Server) Store() store.Store { return s.st }

// Live returns the owner of the server's notifiers.
func (s *Server) Live() *Live { return s.live }

// Publisher returns the syncstruct publisher of the live state (also
// served as a WebSocket at /sync).
func (s *Server) Publisher() *syncstruct.Publisher { return s.pub }

// HandleHTTP adds an HTTP route (http.ServeMux pattern syntax) beside the
// server's own (/, /artifacts/, /runs/, /sync). Call it before Serve.
func (s *Server) HandleHTTP(pattern string, h http.Handler) { s.http.Handle(pattern, h) }

// Handler returns the server's own HTTP routes (/sync, /artifacts/,
// /runs/..., and those added with HandleHTTP): what a handler given to
// SetHTTPHandler passes on to.
func (s *Server) Handler() http.Handler { return s.http }

// SetHTTPHandler makes h the handler of every HTTP request on the port,
// in place of Handler() (trackd puts the Host check, the access control
// and the dashboard there, with Handler() behind them). Call it before
// Serve.
func (s *Server) SetHTTPHandler(h http.Handler) { s.front = h }

// AddTarget adds an rpc target beside "tracker" (trackd adds "memo",
// NewMemo, and "jobs", track/jobs). Call it before Serve and before Local
// for that target.
func (s *Server) AddTarget(name string, target any) error { return s.rpc.AddTarget(name, target) }

// Local returns an in-process handle on an rpc target of the server
// (rpc.Local): calls run as the identity in their ctx, through the same
// authorization, argument binding and errors as calls over the wire,
// without a connection. trackd's dashboard calls "tracker" and "jobs"
// through it.
func (s *Server) Local(target string) (*rpc.Local, error) { return s.rpc.Local(target) }

// Serve accepts connections on ln until ctx ends or Close is called.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.mux.Serve(ctx, ln)
}

// Shutdown lets rpc calls in flight finish (bounded by ctx), flushes the
// logs received, then closes everything as Close does.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.rpc.Shutdown(ctx)
	s.Close()
	return err
}

// Close stops serving, closes every connection and waits for every
// goroutine the server started. It is idempotent. The store is not closed.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mux.Close()
		s.rpc.Close()
		s.logs.Close()
		s.expose.close()
		s.cancel()
		s.wg.Wait()
		s.sink.flush(context.Background())
		s.pub.Close()
	})
	return nil
}

// reap marks runs crashed when their heartbeats stop.
func (s *Server) reap(ctx context.Context) {
	t := time.NewTicker(max(s.opts.HeartbeatTimeout/5, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, id := range s.silentRuns(ctx) { // remote.go
			err := s.st.Edit(ctx, id, []store.Record{{Kind: store.KindStatus, Key: string(store.StatusCrashed)}})
			if err != nil && !errors.Is(err, context.Canceled) {
				s.log.Warn("track: marking a run crashed", "run", id, "err", err)
				continue
			}
			s.log.Info("track: run crashed (no heartbeat)", "run", id, "timeout", s.opts.HeartbeatTimeout)
			s.live.setCrashed(id, true)
		}
	}
}

// alive notes that a run was heard from, lifting a crash mark.
func (s *Server) alive(ctx context.Context, run string) {
	if s.leases != nil {
		s.leases.note(run)
	}
	if s.live.touch(run) {
		if err := s.st.Edit(ctx, run, []store.Record{{Kind: store.KindStatus, Key: "alive"}}); err != nil {
			s.log.Warn("track: lifting a crash mark", "run", run, "err", err)
		}
		s.live.setCrashed(run, false)
	}
}
