package logfwd

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// ForwarderOptions configures a Forwarder. The zero value works.
type ForwarderOptions struct {
	// Source names this program on the log server (SiPyCo's "source").
	// Default: the base name of os.Args[0].
	Source string
	// LoggerName is the logger name of records that carry no LoggerKey
	// attribute. Default: "" (none).
	LoggerName string
	// Level is the minimum level forwarded. Default: slog.LevelInfo.
	Level slog.Leveler
	// Protocol is what the forwarder speaks. wire.ProtocolNative is
	// wire.BannerLog ("SIGOCO log 2"): msgpack frames carrying time, level, logger,
	// message and structured attributes, acknowledged by the server so
	// nothing is lost when a connection breaks. wire.ProtocolSiPyCo is
	// SiPyCo's "ARTIQ logging" text lines, for a SiPyCo log server
	// (artiq_ctlmgr, artiq_master): attributes are appended to the message
	// as key=value text, invalid UTF-8 is replaced by U+FFFD (SiPyCo's
	// server drops the connection otherwise), the server stamps its own
	// time, and there are no acknowledgements, so records written into a
	// connection that breaks before the failure is noticed can be lost.
	// Default (wire.ProtocolAuto): native. A forwarder cannot tell a
	// SiPyCo log server (which closes without a word) from a failing one,
	// so it never falls back by itself.
	Protocol wire.Protocol
	// TLS, if set, wraps the connection in TLS (see wire.TLSConfig.Client).
	TLS *tls.Config
	// Fallback lists more log servers (host:port) that take the same
	// records (trackd nodes sharing one store): when the server in use
	// cannot be reached or its connection is lost, the forwarder moves to
	// the next, in order after the address given to NewForwarder, wrapping
	// around.
	Fallback []string
	// QueueSize bounds the records waiting to be sent; records logged
	// while it is full are dropped and counted. Default: 1000 (SiPyCo's).
	QueueSize int
	// QueueBytes bounds the encoded size of the waiting records, and
	// separately that of the records sent but not yet acknowledged.
	// Default: 32 MiB.
	QueueBytes int
	// MaxFrameSize is the largest encoded record accepted; larger ones
	// are dropped and counted. A server announcing a smaller limit lowers
	// it. Default: 4 MiB.
	MaxFrameSize int
	// HandshakeTimeout bounds connecting, the banner and the hello
	// exchange. Default: 5 s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one write to the server; a server that stalls
	// longer is disconnected and its unacknowledged records are resent to
	// the next connection. Default: 30 s.
	WriteTimeout time.Duration
	// AckTimeout bounds the wait for an acknowledgement (native protocol)
	// while records written are unacknowledged: a server that accepts
	// records but does not acknowledge them for this long is disconnected
	// and they are sent again on the next connection. Default: 30 s.
	AckTimeout time.Duration
	// HeartbeatInterval (native protocol): after this long with nothing
	// written, the forwarder sends a ping, which the server answers with
	// an acknowledgement, so a quiet but healthy forwarder is never cut by
	// a server's IdleTimeout (set it a few times higher). Default: 30 s;
	// negative sends no pings.
	HeartbeatInterval time.Duration
	// MinBackoff and MaxBackoff bound the jittered, doubling wait between
	// connection attempts. Defaults: 100 ms and 5 s (SiPyCo's fixed
	// reconnect timer).
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the forwarder's own diagnostics. The first failed
	// attempt to connect (at start, or after a connection was lost) is a
	// warning saying why: "logfwd: cannot reach log server" (nothing
	// listens, unknown host, timeout), "logfwd: the server refused the
	// connection" (it said why, in err: a port that speaks TLS, too many
	// connections, a wire.Mux without the log banner, a refused hello),
	// or "logfwd: not a log server" (the port answers but not as a log
	// server, or closes without a word); the
	// retries that follow are debug records until a connection succeeds
	// ("logfwd: connected to log server", info) or is lost (warning). It
	// must not lead back into this Forwarder (give it the program's local
	// handler, not a Tee that includes the Forwarder). Default: discards.
	Logger *slog.Logger
	// Token authenticates the forwarder to a server with
	// ServerOptions.Auth; it travels in the native hello (never to a
	// SiPyCo server). Default: $SIGOCO_TOKEN (auth.EnvToken); none when
	// that is empty too.
	Token string
}

func (o *ForwarderOptions) setDefaults() {
	if o.Token == "" {
		o.Token = os.Getenv(auth.EnvToken)
	}
	if o.Source == "" {
		o.Source = filepath.Base(os.Args[0])
	}
	if o.Level == nil {
		o.Level = slog.LevelInfo
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1000
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 32 << 20
	}
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = 4 << 20
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 30 * time.Second
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Forwarder is a slog.Handler that sends records to a log server. See the
// package documentation for its guarantees. Handlers derived with
// WithAttrs and WithGroup share the queue, connection and counters of the
// Forwarder they come from; Flush, Close and Stats act on all of them.
type Forwarder struct {
	c      *core
	groups []group // groups[0] is the top level; copied, never shared for writing
	logger string
}

// group is a level of WithGroup nesting with the WithAttrs attributes
// given inside it, pre-encoded.
type group struct {
	name  string
	attrs []byte // encoded attributes (native) or key=value text (SiPyCo)
	n     int
}

// NewForwarder starts a forwarder to the log server at addr (host:port).
// A malformed address (no port, a port that is not a number or service
// name) is an error wrapping ErrAddress; whether the host exists and
// something listens is found out in the background, like everything about
// the connection. NewForwarder returns at once: connecting, and
// reconnecting whenever the connection is lost, happen in the background,
// and records logged meanwhile wait in the queue (see
// ForwarderOptions.Logger to hear about failures). Call Close to stop it.
func NewForwarder(addr string, opts ForwarderOptions) (*Forwarder, error) {
	if err := checkAddr(addr); err != nil {
		return nil, err
	}
	for _, a := range opts.Fallback {
		if err := checkAddr(a); err != nil {
			return nil, err
		}
	}
	switch opts.Protocol {
	case wire.ProtocolAuto, wire.ProtocolNative, wire.ProtocolSiPyCo:
	default:
		return nil, fmt.Errorf("logfwd: unknown protocol %d", opts.Protocol)
	}
	opts.setDefaults()
	c := newCore(addr, opts)
	return &Forwarder{c: c, groups: []group{{}}, logger: opts.LoggerName}, nil
}

// Enabled reports whether level is at or above the forwarder's Level.
// checkAddr validates a host:port address without resolving the host.
func checkAddr(addr string) error {
	if addr == "" {
		return fmt.Errorf("%w: empty (want host:port, e.g. 127.0.0.1:1066)", ErrAddress)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("%w: %q: want host:port, e.g. 127.0.0.1:1066", ErrAddress, addr)
	}
	if n, err := strconv.Atoi(port); err == nil {
		if n <= 0 || n > 65535 {
			return fmt.Errorf("%w: %q: port %d out of range", ErrAddress, addr, n)
		}
		return nil
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("%w: %q: port %q is not a number", ErrAddress, addr, port)
	}
	return nil
}

func (f *Forwarder) Enabled(_ context.Context, level slog.Level) bool {
	return level >= f.c.opts.Level.Level()
}

// Handle encodes r and queues it. It never blocks on the network and
// always returns nil: a record that does not fit in the queue is dropped
// and counted.
func (f *Forwarder) Handle(_ context.Context, r slog.Record) error {
	c := f.c
	if c.full() || len(r.Message) > c.opts.MaxFrameSize {
		c.drop(1)
		return nil
	}
	st := c.pool.Get().(*encState)
	defer c.putEncState(st)
	st.e.B = st.e.B[:0]
	logger, skipLogger := f.logger, false
	if len(f.groups) == 1 && r.NumAttrs() > 0 {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == LoggerKey && a.Value.Kind() == slog.KindString {
				logger, skipLogger = a.Value.String(), true
			}
			return true
		})
	}
	if c.sipyco {
		f.appendLine(st, r, logger, skipLogger)
	} else {
		at := st.e.Begin()
		st.recordHead(r.Time, r.Level, logger, r.Message)
		arr := st.beginArray32()
		st.endArray(arr, f.encodeLevel(st, 0, r, skipLogger))
		if st.e.End(at) != nil { // over MaxFrameSize
			c.drop(1)
			return nil
		}
	}
	c.enqueue(st.e.B)
	return nil
}

// encodeLevel writes the attributes of groups[i:] and of r, omitting groups
// left empty, and returns how many it wrote at level i.
func (f *Forwarder) encodeLevel(st *encState, i int, r slog.Record, skipLogger bool) int {
	g := &f.groups[i]
	n := g.n
	st.e.B = append(st.e.B, g.attrs...)
	if i+1 < len(f.groups) {
		mark := len(st.e.B)
		st.attrHead(f.groups[i+1].name, kindGroup)
		at := st.beginArray32()
		if m := f.encodeLevel(st, i+1, r, false); m > 0 {
			st.endArray(at, m)
			n++
		} else {
			st.e.B = st.e.B[:mark]
		}
		return n
	}
	r.Attrs(func(a slog.Attr) bool {
		if skipLogger && a.Key == LoggerKey {
			return true
		}
		n += st.attr(a)
		return true
	})
	return n
}

// WithAttrs returns a handler whose records carry attrs. A top-level
// string attribute with key LoggerKey sets the logger name instead.
func (f *Forwarder) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return f
	}
	nf := &Forwarder{c: f.c, logger: f.logger, groups: append([]group(nil), f.groups...)}
	last := &nf.groups[len(nf.groups)-1]
	st := newEncState(f.c.opts.MaxFrameSize)
	st.e.B = append(st.e.B, last.attrs...)
	n := last.n
	for _, a := range attrs {
		if len(nf.groups) == 1 && a.Key == LoggerKey && a.Value.Kind() == slog.KindString {
			nf.logger = a.Value.String()
			continue
		}
		if f.c.sipyco {
			n += appendTextAttr(&st.e.B, nf.prefix(), a)
		} else {
			n += st.attr(a)
		}
	}
	last.attrs, last.n = st.e.B, n
	return nf
}

// WithGroup returns a handler that nests the attributes that follow in a
// group called name.
func (f *Forwarder) WithGroup(name string) slog.Handler {
	if name == "" {
		return f
	}
	groups := make([]group, len(f.groups), len(f.groups)+1)
	copy(groups, f.groups)
	return &Forwarder{c: f.c, logger: f.logger, groups: append(groups, group{name: name})}
}

// Flush waits until every record handled before the call has been
// acknowledged by the server (native protocol) or written to it
// (SiPyCo's), or was dropped. It returns ctx.Err() if ctx ends first
// and ErrClosed once the forwarder is closed.
func (f *Forwarder) Flush(ctx context.Context) error { return f.c.flush(ctx) }

// Close stops the forwarder at once, dropping what is still queued, and
// waits for its goroutines. Use Shutdown to deliver the queue first. It is
// idempotent and always returns nil.
func (f *Forwarder) Close() error { f.c.close(); return nil }

// Shutdown flushes (see Flush) and then closes the forwarder, also when
// the flush fails; it returns the flush's error.
func (f *Forwarder) Shutdown(ctx context.Context) error {
	err := f.c.flush(ctx)
	f.c.close()
	return err
}

// Stats is a snapshot of a Forwarder's counters.
type Stats struct {
	Queued     int    // records waiting to be sent now
	Delivered  uint64 // records acknowledged (native) or written (SiPyCo)
	Dropped    uint64 // records dropped: queue full, too large, or after Close
	Reconnects uint64 // connections established after the first
	Connected  bool   // a connection is up right now
}

// Stats returns the forwarder's counters.
func (f *Forwarder) Stats() Stats { return f.c.stats() }

var _ slog.Handler = (*Forwarder)(nil)
