// Command dashboard keeps a live replica of a notifier published by a
// sigoco (or SiPyCo-compatible) controller and prints every change as it
// happens:
//
//	go run ./examples/sigoco-dashboard --host 127.0.0.1 --port 3253
//
//	07:08:09.121 following "state" at 127.0.0.1:3253
//	07:08:09.123 state at seq 0:
//	  attenuation = 0.0
//	  last_settings = []
//	07:08:09.123 synced "state" at seq 0: full snapshot (first connection)
//	07:08:11.456 attenuation = 5.5
//	07:08:11.456 last_settings += {"at":"2024-05-06T07:08:11.456Z","db":5.5}
//
// Values are written as --json writes them (PYON's JSON: 5.5, 6.0,
// {"__jsonclass__": ["tuple", [...]]}).
//
// By default it subscribes to the notifier "state" over TCP; --ws uses the
// controller's WebSocket endpoint (ws://HOST:PORT/sync) instead, and the
// --tls-* flags TLS (wss:// with --ws). --json prints each mod as one JSON
// line (SiPyCo's mod fields plus "seq") for scripts; --once prints the
// state after the first sync and exits.
//
// Losing the connection is not fatal: the dashboard says "reconnecting" on
// standard error and resumes where it left off. Exit status: 0 after
// SIGINT/SIGTERM (or --once), 1 if --once cannot sync within --timeout, 2
// for bad usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sigoco/sigoco/logfwd/logflag"
	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/wire"
	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp(os.Stdout, os.Stderr).RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "dashboard:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a bad flag value (exit status 2).
type usageError struct{ error }

func newApp(stdout, stderr io.Writer) *cli.App {
	return logflag.PlainHelp(&cli.App{
		Name:      "sigoco-dashboard",
		Usage:     "print a controller's published state and every change to it",
		UsageText: "dashboard [--host HOST] [--port PORT] [--notifier NAME] [--ws] [--tls-peer-cert FILE [--tls-cert FILE --tls-key FILE]] [--json] [--once [--timeout D]]",
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Value: "127.0.0.1", Usage: "controller host"},
			&cli.IntFlag{Name: "port", Value: 3253, Usage: "controller port"},
			&cli.StringFlag{Name: "notifier", Value: "state", Usage: "name of the notifier to follow"},
			&cli.BoolFlag{Name: "ws", Usage: "connect over WebSocket (ws://HOST:PORT/sync)"},
			&cli.StringFlag{Name: "tls-cert", Usage: "client certificate (PEM), if the controller demands one"},
			&cli.StringFlag{Name: "tls-key", Usage: "key of --tls-cert (PEM)"},
			&cli.StringFlag{Name: "tls-peer-cert", Usage: "trust the controller with this certificate (PEM); enables TLS"},
			&cli.BoolFlag{Name: "json", Usage: "print each mod as a JSON line"},
			&cli.BoolFlag{Name: "once", Usage: "print the state after the first sync, then exit"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "with --once: how long to try"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError{fmt.Errorf("unexpected argument %q", c.Args().First())}
			}
			if p := c.Int("port"); p < 1 || p > 65535 {
				return usageError{fmt.Errorf("--port %d: want a TCP port, 1-65535", p)}
			}
			host, port := c.String("host"), strconv.Itoa(c.Int("port"))
			addr := net.JoinHostPort(host, port)
			opts := syncstruct.SubscriberOptions{}
			files := wire.TLSConfig{CertFile: c.String("tls-cert"), KeyFile: c.String("tls-key"), PeerCertFile: c.String("tls-peer-cert")}
			if files.Enabled() {
				cfg, err := files.Client(host)
				if err != nil {
					return usageError{err}
				}
				opts.TLS = cfg
			}
			if c.Bool("ws") {
				scheme := "ws"
				if opts.TLS != nil {
					scheme = "wss"
				}
				addr = scheme + "://" + addr + "/sync"
			}
			d := &dashboard{out: stdout, diag: stderr, json: c.Bool("json"), name: c.String("notifier")}
			return d.run(c.Context, addr, opts, c.Bool("once"), c.Duration("timeout"))
		},
	})
}

// dashboard prints what its Subscriber sees. Its callbacks run on the
// Subscriber's goroutine; mu keeps the output lines whole if a status line
// comes from elsewhere.
type dashboard struct {
	out, diag io.Writer
	json      bool
	name      string
	mu        sync.Mutex
}

func (d *dashboard) run(ctx context.Context, addr string, opts syncstruct.SubscriberOptions, once bool, timeout time.Duration) error {
	if !once {
		opts.OnMod = []func(any, *syncstruct.Mod){d.printMod}
		opts.OnSynced = d.printSynced
		opts.OnDisconnect = func(err error) { d.status("connection lost, reconnecting: %v", err) }
	}
	sub, err := syncstruct.NewSubscriber(addr, d.name, opts)
	if err != nil {
		return usageError{err}
	}
	defer sub.Close()
	if !once {
		d.status("following %q at %s", d.name, addr)
	}
	wctx, cancel := context.WithCancel(ctx)
	if once {
		wctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	refused := make(chan error, 1)
	go func() { refused <- d.watch(wctx, sub) }()
	defer func() { cancel(); <-refused }()
	if !once {
		select {
		case err := <-refused:
			refused <- nil // for the deferred receive
			return err
		case <-ctx.Done():
			return nil
		}
	}
	synced := make(chan error, 1)
	go func() { synced <- sub.WaitSynced(wctx) }()
	select {
	case err := <-refused:
		refused <- nil // for the deferred receive
		if err != nil {
			cancel()
		}
		serr := <-synced // the time out, when watch saw it first
		if err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
	case err := <-synced:
		if err != nil {
			return err
		}
	}
	_, seq := sub.Position()
	sub.Read(func(tree any) { d.printTree(tree, seq) })
	return nil
}

// failureEvery rate-limits the report of a failure that repeats.
const failureEvery = 10 * time.Second

// watch reports failed connection attempts on standard error — each new
// error at once, the same error again at most every failureEvery — and
// returns a definitive refusal (the publisher has no such notifier). It
// returns nil when ctx ends.
//
// The Subscriber tells of failed attempts only through State, so watch
// polls it.
func (d *dashboard) watch(ctx context.Context, sub *syncstruct.Subscriber) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	var lastAt time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		st, err := sub.State()
		if st == syncstruct.StateSynced || st == syncstruct.StateClosed || err == nil {
			last = nil
			continue
		}
		if errors.Is(err, syncstruct.ErrUnknownNotifier) {
			return fmt.Errorf("%w (check --notifier; the example controller publishes \"state\")", err)
		}
		if last != nil && err.Error() == last.Error() && time.Since(lastAt) < failureEvery {
			continue
		}
		if last == nil || err.Error() != last.Error() || time.Since(lastAt) >= failureEvery {
			d.status("cannot sync %q, retrying: %v", d.name, err)
			last, lastAt = err, time.Now()
		}
	}
}

func stamp() string { return time.Now().Format("15:04:05.000") }

func (d *dashboard) status(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.diag, "%s %s\n", stamp(), fmt.Sprintf(format, args...))
}

// snapshotWhy says why a publisher sent a full snapshot.
var snapshotWhy = map[string]string{
	syncstruct.ReasonNew:      "first connection",
	syncstruct.ReasonEpoch:    "the publisher restarted",
	syncstruct.ReasonHistory:  "too much was missed",
	syncstruct.ReasonBehind:   "this dashboard fell behind",
	syncstruct.ReasonSeq:      "the replica was ahead of the publisher",
	syncstruct.ReasonOversize: "a change was too large to send",
	syncstruct.ReasonSiPyCo:   "a SiPyCo publisher cannot resume",
	syncstruct.ReasonReinit:   "the publisher sent a fresh snapshot",
}

func (d *dashboard) printSynced(info syncstruct.SyncInfo) {
	if info.Resumed {
		d.status("synced %q at seq %d: resumed, missed changes replayed", d.name, info.Seq)
		return
	}
	why := snapshotWhy[info.Reason]
	if why == "" {
		why = info.Reason
	}
	d.status("synced %q at seq %d: full snapshot (%s)", d.name, info.Seq, why)
}

func (d *dashboard) printMod(tree any, m *syncstruct.Mod) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.json {
		if err := d.printJSON(m); err != nil {
			fmt.Fprintf(d.diag, "%s cannot print mod %d: %v\n", stamp(), m.Seq, err)
		}
		return
	}
	at := pathString(m.Path)
	switch m.Action {
	case syncstruct.ActInit:
		fmt.Fprintf(d.out, "%s %s at seq %d:\n", stamp(), d.name, m.Seq)
		d.printTreeLocked(m.Struct, m.Seq)
	case syncstruct.ActSetItem:
		fmt.Fprintf(d.out, "%s %s = %s\n", stamp(), join(at, keyString(m.Key)), valueString(m.Value))
	case syncstruct.ActDelItem:
		fmt.Fprintf(d.out, "%s del %s\n", stamp(), join(at, keyString(m.Key)))
	case syncstruct.ActAppend:
		fmt.Fprintf(d.out, "%s %s += %s\n", stamp(), orRoot(at), valueString(m.X))
	case syncstruct.ActInsert:
		fmt.Fprintf(d.out, "%s %s.insert(%d, %s)\n", stamp(), orRoot(at), m.I, valueString(m.X))
	case syncstruct.ActPop:
		fmt.Fprintf(d.out, "%s %s.pop(%d)\n", stamp(), orRoot(at), m.I)
	}
}

func (d *dashboard) printTree(tree any, seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.json {
		fmt.Fprintf(d.out, "%s at seq %d:\n", d.name, seq)
	}
	d.printTreeLocked(tree, seq)
}

// printTreeLocked prints the top level of the tree one member per line.
func (d *dashboard) printTreeLocked(tree any, seq uint64) {
	if d.json {
		if err := d.printJSON(&syncstruct.Mod{Action: syncstruct.ActInit, Struct: tree, Seq: seq}); err != nil {
			fmt.Fprintf(d.diag, "%s cannot print the state: %v\n", stamp(), err)
		}
		return
	}
	switch t := tree.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(d.out, "  %s = %s\n", k, valueString(t[k]))
		}
	default:
		fmt.Fprintf(d.out, "  %s\n", valueString(tree))
	}
}

// pathString writes a path as a.b[0].c.
func pathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		if i, ok := p.(int64); ok {
			fmt.Fprintf(&b, "[%d]", i)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(keyString(p))
	}
	return b.String()
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	if strings.HasPrefix(key, "[") {
		return at + key
	}
	return at + "." + key
}

func orRoot(at string) string {
	if at == "" {
		return "(root)"
	}
	return at
}

func keyString(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return "[" + valueString(k) + "]"
}

// printJSON writes m as one JSON line, as the WebSocket protocol sends it
// (Mod's MarshalJSON), without HTML escaping ("<f8" stays "<f8").
func (d *dashboard) printJSON(m *syncstruct.Mod) error {
	enc := json.NewEncoder(d.out)
	enc.SetEscapeHTML(false)
	return enc.Encode(m)
}

// valueString renders a value as --json does (PYON's JSON for browsers:
// 6.0 for a float, {"__jsonclass__": ...} for a tuple), else with %v.
func valueString(v any) string {
	b, err := pyon.AppendWith(nil, v, pyon.EncodeOptions{StrictJSON: true})
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
