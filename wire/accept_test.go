package wire

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// startLoop serves ln with serve on a new AcceptLoop, closed at cleanup.
func startLoop(t *testing.T, opts AcceptOptions, serve func(ctx context.Context, c net.Conn)) (*AcceptLoop, string, chan error) {
	t.Helper()
	l := NewAcceptLoop(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Serve(context.Background(), ln, serve) }()
	t.Cleanup(func() { l.Close() })
	return l, ln.Addr().String(), done
}

func dialT(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// lineEcho answers every line with itself until the peer leaves.
func lineEcho(ctx context.Context, c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		io.WriteString(c, line)
	}
}

func echo(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s+"\n"); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != s+"\n" {
		t.Fatalf("echo %q: got %q, %v", s, got, err)
	}
}

func TestAcceptLoopServeAfterClose(t *testing.T) {
	l, addr, done := startLoop(t, AcceptOptions{}, lineEcho)
	c := dialT(t, addr)
	echo(t, c, "hello")
	l.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve running at Close: %v, want net.ErrClosed", err)
	}
	// The connection was closed by Close.
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after Close")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Serve(context.Background(), ln, lineEcho); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve after Close: %v, want net.ErrClosed", err)
	}
	if err := l.Track(c); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Track after Close: %v, want net.ErrClosed", err)
	}
	if l.Enter() {
		t.Fatal("Enter after Close succeeded")
	}
	l.Close() // idempotent
}

func TestAcceptLoopCtxCancelReturnsNil(t *testing.T) {
	l := NewAcceptLoop(AcceptOptions{})
	t.Cleanup(func() { l.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- l.Serve(ctx, ln, func(ctx context.Context, c net.Conn) {
			close(started)
			<-ctx.Done() // a hard stop reaches the connection
		})
	}()
	dialT(t, ln.Addr().String())
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after its ctx ended: %v, want nil", err)
	}
}

// Close racing with Enter/Track never lets Wait return before a goroutine
// that was admitted (run with -race; the old Mux Added outside the lock).
func TestAcceptLoopEnterCloseRace(t *testing.T) {
	for range 50 {
		l := NewAcceptLoop(AcceptOptions{})
		var running sync.WaitGroup
		var mu sync.Mutex
		finished := 0
		admitted := 0
		for range 4 {
			running.Add(1)
			go func() {
				defer running.Done()
				if l.Enter() {
					mu.Lock()
					admitted++
					mu.Unlock()
					time.Sleep(time.Millisecond)
					mu.Lock()
					finished++
					mu.Unlock()
					l.Leave()
				}
			}()
		}
		l.Close()
		mu.Lock()
		if finished != admitted {
			t.Fatalf("Close returned with %d of %d admitted goroutines running", admitted-finished, admitted)
		}
		mu.Unlock()
		running.Wait()
	}
}

func TestAcceptLoopMaxConns(t *testing.T) {
	_, addr, _ := startLoop(t, AcceptOptions{MaxConns: 2}, lineEcho)
	a, b := dialT(t, addr), dialT(t, addr)
	echo(t, a, "a")
	echo(t, b, "b")
	t.Run("native client", func(t *testing.T) {
		c := dialT(t, addr)
		io.WriteString(c, BannerRPC+"\n")
		got, _ := io.ReadAll(c)
		if want := "SIGOCO error: too many connections (limit 2); try again later\n"; string(got) != want {
			t.Fatalf("third connection got %q, want %q", got, want)
		}
	})
	t.Run("http client", func(t *testing.T) {
		c := dialT(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		got, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(got), "HTTP/1.1 503 ") || !strings.Contains(string(got), "too many connections") {
			t.Fatalf("HTTP client past the limit got %q", got)
		}
	})
	// The others are still served, and a freed slot is taken again.
	echo(t, a, "a again")
	b.Close()
	for i := 0; ; i++ {
		c := dialT(t, addr)
		io.WriteString(c, "c\n")
		got, _ := bufio.NewReader(c).ReadString('\n')
		if got == "c\n" {
			break
		}
		if i > 100 {
			t.Fatalf("a freed slot is never reused (last answer %q)", got)
		}
		time.Sleep(10 * time.Millisecond) // b's goroutine ends on its own time
	}
}

func TestAcceptLoopIdleTimeout(t *testing.T) {
	served := make(chan error, 4)
	_, addr, _ := startLoop(t, AcceptOptions{IdleTimeout: 300 * time.Millisecond}, func(ctx context.Context, c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				served <- err
				return
			}
			if line == "slow\n" {
				time.Sleep(700 * time.Millisecond) // not reading: never idle
			}
			io.WriteString(c, line)
		}
	})
	c := dialT(t, addr)
	// Talking more slowly than the timeout but never silent for it keeps
	// the connection; a long reply time on the server side does too.
	for range 4 {
		echo(t, c, "x")
		time.Sleep(50 * time.Millisecond)
	}
	echo(t, c, "slow")
	// Silence closes it.
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("idle connection not closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("idle connection still open after 10 s")
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("closed after %v, before the idle timeout", d)
	}
	if err := <-served; !errors.Is(err, ErrIdleTimeout) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("server's read error %v, want ErrIdleTimeout (and net.ErrClosed)", err)
	}
}

func TestAcceptLoopKeepAlive(t *testing.T) {
	got := make(chan net.Conn, 1)
	_, addr, _ := startLoop(t, AcceptOptions{KeepAlive: 7 * time.Second}, func(ctx context.Context, c net.Conn) {
		got <- c
		<-ctx.Done()
	})
	dialT(t, addr)
	c := <-got
	tc, ok := c.(*net.TCPConn)
	if !ok {
		t.Fatalf("accepted %T", c)
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on, idle int
	raw.Control(func(fd uintptr) { on, idle = getKeepAlive(fd) })
	if on != 1 || idle != 7 {
		t.Fatalf("SO_KEEPALIVE = %d, TCP_KEEPIDLE = %d on an accepted connection; want 1, 7", on, idle)
	}
}

// Track refuses past MaxConns and after StopAccepting; Close closes what
// was tracked.
func TestAcceptLoopTrack(t *testing.T) {
	l := NewAcceptLoop(AcceptOptions{MaxConns: 1})
	a, _ := net.Pipe()
	b, _ := net.Pipe()
	if err := l.Track(NewConn(a)); err != nil {
		t.Fatal(err)
	}
	if err := l.Track(b); !errors.Is(err, ErrTooManyConns) {
		t.Fatalf("Track past MaxConns: %v", err)
	}
	if l.Conns() != 1 {
		t.Fatalf("Conns = %d", l.Conns())
	}
	l.StopAccepting()
	if err := l.Track(b); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Track after StopAccepting: %v", err)
	}
	done := make(chan struct{})
	go func() {
		l.Close()
		close(done)
	}()
	// Close closed a (below its *Conn) and waits for Untrack.
	if _, err := a.Read(make([]byte, 1)); err == nil {
		t.Fatal("tracked connection not closed")
	}
	select {
	case <-done:
		t.Fatal("Close returned before Untrack")
	case <-time.After(20 * time.Millisecond):
	}
	l.Untrack(NewConn(a))
	<-done
}

// The serve function learns the deadline that bounds the handshake and
// the banner: HandshakeTimeout after the accept.
func TestAcceptLoopHandshakeDeadline(t *testing.T) {
	const timeout = 3 * time.Second
	l := NewAcceptLoop(AcceptOptions{HandshakeTimeout: timeout})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Serve(context.Background(), ln, func(ctx context.Context, c net.Conn) {
			d, _ := HandshakeDeadline(ctx)
			got <- d
		})
	}()
	t.Cleanup(func() { l.Close(); <-done })
	before := time.Now()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := <-got
	if after := time.Now(); d.Before(before.Add(timeout)) || d.After(after.Add(timeout)) {
		t.Fatalf("HandshakeDeadline = %v, want between %v and %v", d, before.Add(timeout), after.Add(timeout))
	}
	if _, ok := HandshakeDeadline(context.Background()); ok {
		t.Fatal("HandshakeDeadline found a deadline in a context from elsewhere")
	}
}
