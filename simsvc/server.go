package simsvc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/wire"
)

// Options configures a Server. The zero value is valid.
type Options struct {
	// Name is the rpc target and the syncstruct notifier the service is
	// served as. Default DefaultName.
	Name string
	// Description is announced to rpc clients (list-targets shows it).
	Description string
	// TLS, if set, makes Serve accept TLS connections only (with mutual
	// authentication when it names client certificates to trust).
	// Default: plain TCP.
	TLS *tls.Config
	// HandshakeTimeout bounds the banner and handshake of a connection.
	// Default wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxFrameSize bounds one rpc message. Default wire.DefaultMaxFrameSize.
	MaxFrameSize int
	// InsideRun makes the service step by itself (SimService's
	// inside_run): once run has loaded it, the server calls Init and
	// Start until they return true, then Step, again and again, until a
	// client calls stop or finish, a step fails, or Steps steps are done
	// (when Steps > 0; the service then stays SIM_RUNNING until finish).
	// Clients then call init, start and step in vain (a StateError) and
	// follow the steps through status updates. Default false: the client
	// drives every call.
	InsideRun bool
	// Steps is how many steps the simulation is expected to take; with
	// it the progress (0-100) follows the step count. Default 0: the
	// progress is what the service sets with Host.SetProgress.
	Steps int
	// BeginningStep is the first step's number (SimService's
	// beginning_step): current_step starts there and counts up, and the
	// progress with Steps is 100·(current_step−BeginningStep)/Steps.
	// Default 0.
	BeginningStep int
	// DisableProfiler turns off CPU sampling (runtime/pprof), which runs
	// from NewServer to Close for the profiler report. The CPU profiler is
	// one per process: servers in one process share it, and a program
	// that profiles itself otherwise gets reports that say so.
	DisableProfiler bool
	// Track, if set, makes the service a tracked run on the tracking
	// server at Track.Addr (default $SIGOCO_TRACK_ADDR, else
	// track.DefaultAddr): NewServer starts the run (track.Start; its Name
	// defaults to the service's Name, its Logger to Logger), and the
	// server records into it as for Recorder, and ends it: in the
	// background once finish or stop succeeds (finished, or stopped; failed
	// with the error message when a call failed before), or at Close
	// (stopped, or failed, after storing the profiler report). Shutdown
	// waits for the run to reach the server; Close up to 2 s, leaving the
	// rest in the run's spool. Server.Track returns the run, and the ctx of
	// every call into the service carries it (track.FromContext). Exclusive
	// with Recorder. Default: not tracked (but see EnvTrack for ServeChild).
	Track *track.Options
	// Recorder, if set, records the service as a tracked run the caller
	// owns (and ends): status, step and progress follow the lifecycle, the
	// service is exposed, and the profiler report is stored at finish and
	// stop (see Recorder and TrackRun). Default: none.
	Recorder Recorder
	// Logger receives the servers' records (rejected connections, failed
	// lifecycle calls at debug level). Default: records are discarded.
	Logger *slog.Logger
}

// DefaultName is the target and notifier name of a service when
// Options.Name is empty.
const DefaultName = "simsvc"

// Server serves one Service: an rpc target (native and SiPyCo pc_rpc)
// whose lifecycle is a state machine, and its live status as a syncstruct
// notifier of the same name (native and SiPyCo sync_struct), all on one
// port. A Server is safe for concurrent use.
//
// Concurrency: lifecycle calls, steering, service functions and property
// accessors run one at a time (a call waits its turn, and gives up when
// its context ends); status, current_step, error_message and the profiler
// report are answered at once, also while a step runs.
type Server struct {
	svc  Service
	opts Options
	id   string // the pprof label value of this server's work
	host *Host

	rpc    *rpc.Server
	pub    *syncstruct.Publisher
	note   *syncstruct.Notifier
	mux    *wire.Mux
	prof   bool            // holds a reference on the process profiler
	labels context.Context // carries the pprof label of this server's work

	// life serialises the calls into svc (a channel, so that a caller
	// waiting its turn can give up when its context ends).
	life chan struct{}

	// mu guards status, step, errMsg, progress, funcs, props and inside.
	mu       sync.Mutex
	status   Status
	step     int
	errMsg   string
	progress float64
	funcs    []string                 // wire names of service functions, in order of registration
	funcVals map[string]reflect.Value // the service functions (serialised) by wire name
	props    map[string]*Property     // by name
	inside   *insideRun               // the self-stepping loop, while it runs
	simName  string                   // SetSimName; default Options.Name
	selfRun  bool                     // Options.InsideRun, or SetInsideRun

	tracked *ownedRun // the run of Options.Track, or nil (set in NewServer)

	ctx       context.Context // lifetime: cancelled by Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup // the inside-run loop
	closeOnce sync.Once
}

var serverSeq atomic.Uint64

// NewServer returns a Server for svc, in status REGISTERED. It fails if
// the properties of a PropertyLister are invalid.
func NewServer(svc Service, opts Options) (*Server, error) {
	if svc == nil {
		return nil, errors.New("simsvc: NewServer needs a service, got nil")
	}
	if opts.Track != nil && opts.Recorder != nil {
		return nil, errTrackAndRecorder
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		svc:      svc,
		opts:     opts,
		id:       opts.Name + "#" + strconv.FormatUint(serverSeq.Add(1), 10),
		life:     make(chan struct{}, 1),
		status:   StatusRegistered,
		step:     opts.BeginningStep,
		simName:  opts.Name,
		selfRun:  opts.InsideRun,
		props:    map[string]*Property{},
		funcVals: map[string]reflect.Value{},
	}
	s.host = &Host{s: s}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	var err error
	s.rpc, err = rpc.NewServer(map[string]any{opts.Name: &target{s: s}}, rpc.ServerOptions{
		Description:      opts.Description,
		AllowParallel:    true, // the Server serialises what must be (life)
		MaxFrameSize:     opts.MaxFrameSize,
		HandshakeTimeout: opts.HandshakeTimeout,
		Logger:           opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("simsvc: %w", err)
	}
	s.note, err = syncstruct.NewNotifier(map[string]any{
		"name":          opts.Name,
		"status":        string(StatusRegistered),
		"step":          opts.BeginningStep,
		"sim_name":      opts.Name,
		"progress":      0.0,
		"error_message": "",
		"functions":     []any{},
		"properties":    []any{},
	}, syncstruct.NotifierOptions{HistoryBytes: 256 << 10})
	if err != nil {
		return nil, fmt.Errorf("simsvc: %w", err)
	}
	s.pub = syncstruct.NewPublisher(map[string]*syncstruct.Notifier{opts.Name: s.note},
		syncstruct.PublisherOptions{HandshakeTimeout: opts.HandshakeTimeout, Logger: opts.Logger})
	s.mux = wire.NewMux(wire.MuxOptions{TLS: opts.TLS, HandshakeTimeout: opts.HandshakeTimeout, Logger: opts.Logger})
	s.Register(s.mux)
	if pl, ok := svc.(PropertyLister); ok {
		for _, p := range pl.Properties() {
			if err := s.host.AddProperty(p); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	if !opts.DisableProfiler {
		s.prof = true
		s.labels = pprof.WithLabels(context.Background(), pprof.Labels(profLabel, s.id))
		procProfiler.acquire()
	}
	if opts.Track != nil {
		if err := s.startTrack(); err != nil {
			s.Close()
			return nil, fmt.Errorf("simsvc: tracking: %w", err)
		}
	}
	if r := s.opts.Recorder; r != nil {
		r.SetStatus(StatusRegistered, "")
		if err := r.Expose(opts.Name, &target{s: s}); err != nil {
			opts.Logger.Warn("simsvc: recorder: expose", "err", err)
		}
	}
	return s, nil
}

// Register routes the service's banners on m (native and SiPyCo rpc to
// the rpc server, native and SiPyCo sync to the status publisher), to
// serve the service on a port shared with other handlers. Serve does this
// on a Mux of its own.
func (s *Server) Register(m *wire.Mux) {
	m.Handle(wire.BannerRPC, s.rpc)
	m.Handle(wire.BannerSiPyCoRPC, s.rpc)
	m.Handle(wire.BannerSync, s.pub)
	m.Handle(wire.BannerSiPyCoSync, s.pub)
}

// RPC returns the rpc server (one target, Options.Name).
func (s *Server) RPC() *rpc.Server { return s.rpc }

// Publisher returns the publisher of the status notifier.
func (s *Server) Publisher() *syncstruct.Publisher { return s.pub }

// Host returns the handle through which the service registers functions
// and properties (the same one HostFrom finds in a call's context).
func (s *Server) Host() *Host { return s.host }

// Serve serves ln until ctx is done or Shutdown or Close is called, and
// returns nil then; any other accept failure is returned. Serve closes ln.
// It may be called for several listeners.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		return errors.New("simsvc: Serve needs a listener, got nil (did net.Listen fail?)")
	}
	err := s.mux.Serve(ctx, ln)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// ServeConn serves one connection (from a listener of the caller's, or
// a wire.Mux) by its banner: rpc (native or SiPyCo) or the status
// notifier (native or SiPyCo sync). It reads the banner within
// Options.HandshakeTimeout and returns when the connection ends; an
// unknown banner is an error (the connection is closed). Connections are
// taken as they are: Options.TLS applies to Serve only.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) error {
	wc := wire.NewConn(conn)
	hs := s.opts.HandshakeTimeout
	if hs <= 0 {
		hs = wire.DefaultHandshakeTimeout
	}
	wc.SetReadDeadline(time.Now().Add(hs))
	line, err := wire.PeekLine(wc.R)
	wc.SetReadDeadline(time.Time{})
	if err != nil {
		wc.Close()
		return fmt.Errorf("simsvc: reading the banner: %w", err)
	}
	switch line {
	case wire.BannerRPC, wire.BannerSiPyCoRPC:
		return s.rpc.ServeConn(ctx, wc)
	case wire.BannerSync, wire.BannerSiPyCoSync:
		return s.pub.ServeConn(ctx, wc)
	}
	wc.Close()
	return fmt.Errorf("simsvc: %s", wire.BannerMismatch(line))
}

// Shutdown ends the inside-run loop (after its step in progress), stops
// accepting, lets the calls in flight finish (a step included), closes
// every connection, waits for a tracked run that has ended to reach the
// server (Options.Track), and then does what Close does. If ctx ends
// first, it stops hard and returns ctx.Err(). The service itself is not
// stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopInside()
	err := s.mux.Shutdown(ctx)
	s.waitTrack(ctx)
	s.Close()
	return err
}

// Close stops serving at once: connections are closed, calls in flight
// see their contexts cancelled, and Close waits for them and for the
// inside-run loop. The service itself is not stopped: call stop first for
// that (Spawn's child side does, see ServeChild). A tracked run
// (Options.Track) not ended yet is ended (see Options.Track); Close waits
// up to 2 s for it to reach the server. Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.mux.Close()
		s.rpc.Close()
		s.pub.Close()
		s.wg.Wait()
		s.closeTrack()
		if s.prof {
			procProfiler.release()
		}
	})
	return nil
}

// Serve serves svc on ln until ctx is done; the server is closed on
// return. A shorthand for NewServer, Server.Serve and Server.Close.
func Serve(ctx context.Context, ln net.Listener, svc Service, opts Options) error {
	s, err := NewServer(svc, opts)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}
	defer s.Close()
	return s.Serve(ctx, ln)
}

// Status returns the current status.
func (s *Server) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// CurrentStep returns the current step: BeginningStep plus the steps done.
func (s *Server) CurrentStep() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.step
}

// BeginningStep returns Options.BeginningStep, the first step's number.
func (s *Server) BeginningStep() int { return s.opts.BeginningStep }

// SimName returns the simulation's name: Options.Name until SetSimName.
func (s *Server) SimName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.simName
}

// SetSimName names the simulation after construction (SimService's
// set_sim_name): wire sim_name and the live status (Update.SimName) report
// it. The rpc target and notifier keep Options.Name, under which clients
// found the service. An empty name is refused.
func (s *Server) SetSimName(name string) error {
	if name == "" {
		return errors.New("simsvc: SetSimName needs a name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.simName != name {
		s.simName = name
		s.publish("sim_name", name)
	}
	return nil
}

// SetInsideRun turns the inside run (Options.InsideRun) on or off after
// construction (SimService's set_inside_run): allowed until run has
// loaded the service (from the service's own Run included); later it is
// a *StateError.
func (s *Server) SetInsideRun(on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != StatusRegistered {
		return &StateError{Op: "set_inside_run", Status: s.status, Hint: "only before run has loaded the service"}
	}
	s.selfRun = on
	return nil
}

// ErrorMessage returns the error of the failed call that set SIM_FAILED,
// or "".
func (s *Server) ErrorMessage() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errMsg
}

// publish sets key in the status tree; the notifier cannot fail on these
// plain values, but a failure is logged rather than lost.
func (s *Server) publish(key string, v any) {
	if err := s.note.Set(key, v); err != nil {
		s.opts.Logger.Warn("simsvc: status update", "key", key, "err", err)
	}
}

// setStatusLocked changes the status (s.mu held) and tells the notifier
// and the recorder.
func (s *Server) setStatusLocked(st Status, msg string) {
	if st == s.status && msg == s.errMsg {
		return
	}
	prev := s.status
	s.status = st
	if st == StatusFailed {
		s.errMsg = msg
		s.publish("error_message", msg)
	}
	s.publish("status", string(st))
	if r := s.opts.Recorder; r != nil && !(prev == StatusFailed && st == StatusStopped) {
		r.SetStatus(st, msg)
	}
}

// setProgressLocked changes the progress (s.mu held).
func (s *Server) setProgressLocked(p float64) {
	p = min(max(p, 0), 100)
	if p == s.progress {
		return
	}
	s.progress = p
	s.publish("progress", p)
	if r := s.opts.Recorder; r != nil {
		r.SetProgress(p)
	}
}
