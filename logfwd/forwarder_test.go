package logfwd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"
)

type point struct{ X, Y int }

type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("***") }

func TestRoundTrip(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			col := newCollector()
			addr, _, tlsCfg := serve(t, col, tr, ServerOptions{}, "")
			f := forward(t, addr, ForwarderOptions{Source: "ctl_lda", TLS: tlsCfg, Level: slog.LevelDebug})
			log := slog.New(f).With(LoggerKey, "lda.driver", "unit", "dB")
			when := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
			r := slog.NewRecord(when, slog.LevelWarn, "attenuation set", 0)
			r.AddAttrs(
				slog.String("s", "text"), slog.Int("i", -3), slog.Uint64("u", 1<<63),
				slog.Float64("f", 5.5), slog.Bool("b", true), slog.Duration("d", 1500*time.Millisecond),
				slog.Time("t", when), slog.Time("zero", time.Time{}), slog.Any("p", point{1, 2}),
				slog.Any("err", errors.New("boom")), slog.Any("pw", secret("hunter2")),
				slog.Group("g", slog.Int("a", 1), slog.Group("h", slog.String("b", "x"))),
			)
			if err := log.Handler().Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			log.WithGroup("req").Debug("second", "id", 7)
			flush(t, f)
			recs := col.wait(t, 2)

			g := recs[0]
			if !g.rec.Time.Equal(when) || g.rec.Level != slog.LevelWarn || g.rec.Message != "attenuation set" {
				t.Errorf("record = %v %v %q", g.rec.Time, g.rec.Level, g.rec.Message)
			}
			if g.forwarded != "ctl_lda" {
				t.Errorf("ForwardedSource = %q", g.forwarded)
			}
			want := `source=ctl_lda logger=lda.driver unit=dB s=text i=-3 u=9223372036854775808 f=5.5 b=true ` +
				`d=1.5s t=2024-05-06T07:08:09.123456789Z zero=0001-01-01T00:00:00Z p=map[x:1 y:2] err=boom pw=*** g.a=1 g.h.b=x`
			if s := flat(g.rec); s != want {
				t.Errorf("attrs\n got %s\nwant %s", s, want)
			}
			if v, _ := g.attr("d"); v.Kind() != slog.KindDuration {
				t.Errorf("duration arrived as %v", v.Kind())
			}
			if v, _ := g.attr("u"); v.Kind() != slog.KindUint64 {
				t.Errorf("uint arrived as %v", v.Kind())
			}
			if s := flat(recs[1].rec); s != "source=ctl_lda logger=lda.driver unit=dB req.id=7" {
				t.Errorf("second record attrs = %s", s)
			}
		})
	}
}

// flat renders attributes as k=v with dotted group keys, times in UTC.
func flat(r slog.Record) string {
	var parts []string
	var walk func(prefix string, a slog.Attr)
	walk = func(prefix string, a slog.Attr) {
		if a.Value.Kind() == slog.KindGroup {
			for _, m := range a.Value.Group() {
				walk(prefix+a.Key+".", m)
			}
			return
		}
		v := a.Value.String()
		if a.Value.Kind() == slog.KindTime {
			v = a.Value.Time().UTC().Format(time.RFC3339Nano)
		}
		parts = append(parts, prefix+a.Key+"="+v)
	}
	r.Attrs(func(a slog.Attr) bool { walk("", a); return true })
	return strings.Join(parts, " ")
}

func TestSlogtest(t *testing.T) {
	var col *collector
	var f *Forwarder
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		col = newCollector()
		addr, _, _ := serve(t, col, transports[0], ServerOptions{}, "")
		f = forward(t, addr, ForwarderOptions{})
		return f
	}, func(t *testing.T) map[string]any {
		flush(t, f)
		recs := col.wait(t, 1)
		r := recs[len(recs)-1].rec
		m := map[string]any{slog.LevelKey: r.Level, slog.MessageKey: r.Message}
		if !r.Time.IsZero() {
			m[slog.TimeKey] = r.Time
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key != SourceKey { // added by the server
				m[a.Key] = toAny(a.Value)
			}
			return true
		})
		return m
	})
}

func toAny(v slog.Value) any {
	if v.Kind() != slog.KindGroup {
		return v.Any()
	}
	m := map[string]any{}
	for _, a := range v.Group() {
		m[a.Key] = toAny(a.Value)
	}
	return m
}

func TestWithAttrsDoesNotAlias(t *testing.T) {
	col := newCollector()
	addr, _, _ := serve(t, col, transports[0], ServerOptions{}, "")
	f := forward(t, addr, ForwarderOptions{})
	base := f.WithAttrs([]slog.Attr{slog.Int("a", 1)})
	h1 := base.WithAttrs([]slog.Attr{slog.Int("b", 2)})
	h2 := base.WithAttrs([]slog.Attr{slog.Int("c", 3)})
	g1 := base.WithGroup("g")
	g2 := g1.WithAttrs([]slog.Attr{slog.Int("d", 4)})
	for _, h := range []slog.Handler{base, h1, h2, g1, g2} {
		slog.New(h).Info("m", "x", 0)
	}
	flush(t, f)
	var got []string
	for _, g := range col.wait(t, 5) {
		got = append(got, flat(g.rec))
	}
	want := []string{
		"source=test a=1 x=0",
		"source=test a=1 b=2 x=0",
		"source=test a=1 c=3 x=0",
		"source=test a=1 g.x=0",
		"source=test a=1 g.d=4 g.x=0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLevel(t *testing.T) {
	f, err := NewForwarder("127.0.0.1:1", ForwarderOptions{Level: slog.LevelWarn})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	if f.Enabled(ctx, slog.LevelInfo) || !f.Enabled(ctx, slog.LevelWarn) {
		t.Error("Enabled does not follow Level")
	}
}

func TestOptionsRejected(t *testing.T) {
	if _, err := NewForwarder("", ForwarderOptions{}); err == nil {
		t.Error("empty address accepted")
	}
	if _, err := NewForwarder("x:1", ForwarderOptions{Protocol: 7}); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestServerDownAtStart(t *testing.T) {
	addr := freeAddr(t)
	f := forward(t, addr, ForwarderOptions{QueueSize: 10})
	log := slog.New(f)
	for i := range 15 {
		log.Info(fmt.Sprintf("r%d", i))
	}
	if s := f.Stats(); s.Dropped != 5 || s.Queued != 10 || s.Connected {
		t.Fatalf("while down: %+v, want 5 dropped and 10 queued", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := f.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush with the server down = %v", err)
	}

	col := newCollector()
	serve(t, col, transports[0], ServerOptions{}, addr)
	flush(t, f)       // the queued records arrive ...
	log.Info("after") // ... and a record logged now finds room, after the notice
	flush(t, f)
	recs := col.wait(t, 12)
	want := "r0 r1 r2 r3 r4 r5 r6 r7 r8 r9 5 records dropped after"
	if got := strings.Join(col.messages(), " "); got != want {
		t.Fatalf("messages = %s\nwant %s", got, want)
	}
	notice := recs[10]
	if v, _ := notice.attr("dropped"); v.Uint64() != 5 || notice.rec.Level != slog.LevelWarn {
		t.Errorf("notice = %v %s", notice.rec.Level, flat(notice.rec))
	}
	if s := f.Stats(); s.Delivered != 12 || s.Dropped != 5 || !s.Connected {
		t.Errorf("stats %+v", s)
	}
}

func TestServerRestartMidStream(t *testing.T) {
	colA := newCollector()
	addr, srvA, _ := serve(t, colA, transports[0], ServerOptions{}, "")
	f := forward(t, addr, ForwarderOptions{QueueSize: 1000})
	log := slog.New(f)
	for i := range 100 {
		log.Info(fmt.Sprint(i))
	}
	flush(t, f)
	srvA.Close()
	for i := 100; i < 200; i++ {
		log.Info(fmt.Sprint(i))
	}
	colB := newCollector()
	serve(t, colB, transports[0], ServerOptions{}, addr)
	for i := 200; i < 300; i++ {
		log.Info(fmt.Sprint(i))
	}
	flush(t, f)
	check := func(name string, msgs []string, from, to int) {
		t.Helper()
		if len(msgs) != to-from {
			t.Fatalf("server %s got %d records, want %d", name, len(msgs), to-from)
		}
		for i, m := range msgs {
			if m != fmt.Sprint(from+i) {
				t.Fatalf("server %s record %d = %q, want %d", name, i, m, from+i)
			}
		}
	}
	check("A", colA.messages(), 0, 100)
	check("B", colB.messages(), 100, 300)
	if s := f.Stats(); s.Reconnects != 1 || s.Dropped != 0 || s.Delivered != 300 {
		t.Errorf("stats %+v", s)
	}
}

func TestLargeAndMultiLine(t *testing.T) {
	col := newCollector()
	addr, _, _ := serve(t, col, transports[0], ServerOptions{}, "")
	f := forward(t, addr, ForwarderOptions{})
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	multi := "first line\nsecond line\r\n\nfourth: with colon"
	log := slog.New(f)
	log.Info(big)
	log.Error(multi, "trace", "a\nb")
	log.Info("small")
	flush(t, f)
	recs := col.wait(t, 3)
	if recs[0].rec.Message != big {
		t.Errorf("1 MiB message arrived with %d bytes", len(recs[0].rec.Message))
	}
	if recs[1].rec.Message != multi || recs[1].str("trace") != "a\nb" {
		t.Errorf("multi-line record = %q trace=%q", recs[1].rec.Message, recs[1].str("trace"))
	}
	if recs[2].rec.Message != "small" {
		t.Errorf("third record = %q", recs[2].rec.Message)
	}
}

func TestOversizeDropped(t *testing.T) {
	col := newCollector()
	// The server takes frames of at most 1000 bytes; the forwarder learns
	// it in the handshake.
	addr, _, _ := serve(t, col, transports[0], ServerOptions{MaxFrameSize: 1000}, "")
	f := forward(t, addr, ForwarderOptions{MaxFrameSize: 5000})
	log := slog.New(f)
	log.Info("one")
	log.Info(strings.Repeat("x", 10000)) // over MaxFrameSize: dropped in Handle
	flush(t, f)
	log.Info(strings.Repeat("y", 2000)) // over the server's limit: dropped by the writer
	flush(t, f)
	log.Info("two")
	flush(t, f)
	got := strings.Join(col.messages(), " ")
	want := "one 1 records dropped 1 records dropped two"
	if got != want {
		t.Errorf("messages = %q, want %q", got, want)
	}
	if s := f.Stats(); s.Dropped != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestFloodNeverBlocks(t *testing.T) {
	col := newCollector()
	col.block = make(chan struct{}) // the server stops reading: the network stalls
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(col.block) }) }
	addr, _, _ := serve(t, col, transports[0], ServerOptions{}, "")
	t.Cleanup(release) // runs before the server's cleanup, even on failure
	f := forward(t, addr, ForwarderOptions{QueueSize: 100})
	log := slog.New(f)
	const goroutines, each = 4, 20000
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					log.Info("flood", "g", g, "i", i)
				}
			}()
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Handle blocked while the server stalled")
	}
	dropped := f.Stats().Dropped
	if dropped == 0 {
		t.Fatal("nothing dropped although the server stalled")
	}
	release()
	flush(t, f)
	log.Info("final") // carries the last drop notice
	flush(t, f)

	var floods, noticed uint64
	for _, g := range col.all() {
		switch {
		case g.rec.Message == "flood":
			floods++
		case strings.HasSuffix(g.rec.Message, " records dropped"):
			v, _ := g.attr("dropped")
			noticed += v.Uint64()
		}
	}
	s := f.Stats()
	if noticed != s.Dropped || floods+s.Dropped != goroutines*each {
		t.Errorf("floods %d + dropped %d != %d, notices report %d", floods, s.Dropped, goroutines*each, noticed)
	}
}

func TestCloseAndShutdown(t *testing.T) {
	col := newCollector()
	addr, _, _ := serve(t, col, transports[0], ServerOptions{}, "")
	f := forward(t, addr, ForwarderOptions{})
	slog.New(f).Info("before")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := col.messages(); len(got) != 1 {
		t.Fatalf("after Shutdown the server has %q", got)
	}
	f.Close() // idempotent
	slog.New(f).Info("after close")
	if err := f.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close = %v", err)
	}
	if s := f.Stats(); s.Dropped != 1 {
		t.Errorf("record after Close not counted as dropped: %+v", s)
	}
}

func TestCloseWhileFlushing(t *testing.T) {
	f := forward(t, freeAddr(t), ForwarderOptions{})
	slog.New(f).Info("never delivered")
	errc := make(chan error, 1)
	go func() { errc <- f.Flush(context.Background()) }()
	f.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Flush interrupted by Close = %v", err)
	}
}

// Drops are reported even when no record follows them: Flush (and so
// Shutdown) queues the notice itself.
func TestDropNoticeOnShutdown(t *testing.T) {
	addr := freeAddr(t)
	f := forward(t, addr, ForwarderOptions{QueueSize: 3})
	log := slog.New(f)
	for i := range 7 {
		log.Info(fmt.Sprintf("r%d", i))
	}
	col := newCollector()
	serve(t, col, transports[0], ServerOptions{}, addr)
	flush(t, f) // the three queued records; no room for the notice yet
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	col.wait(t, 4)
	want := "r0 r1 r2 4 records dropped"
	if got := strings.Join(col.messages(), " "); got != want {
		t.Fatalf("messages = %s\nwant %s", got, want)
	}
}

// TestForwarderFallback: with Fallback servers the forwarder skips an
// address that answers nothing and, when the server in use goes, moves to
// the next; a malformed fallback address is refused at once.
func TestForwarderFallback(t *testing.T) {
	colA, colB := newCollector(), newCollector()
	addrA, srvA, _ := serve(t, colA, transports[0], ServerOptions{}, "")
	addrB, _, _ := serve(t, colB, transports[0], ServerOptions{}, "")
	f := forward(t, freeAddr(t), ForwarderOptions{Fallback: []string{addrA, addrB}})
	lg := slog.New(f)
	lg.Info("one")
	flush(t, f)
	if got := colA.wait(t, 1); got[0].rec.Message != "one" {
		t.Fatalf("A got %+v", got)
	}
	srvA.Close()
	lg.Info("two")
	flush(t, f)
	if got := colB.wait(t, 1); got[len(got)-1].rec.Message != "two" {
		t.Fatalf("B got %+v", got)
	}
	if _, err := NewForwarder(addrA, ForwarderOptions{Fallback: []string{"nohost"}}); !errors.Is(err, ErrAddress) {
		t.Fatalf("bad fallback: %v", err)
	}
}
