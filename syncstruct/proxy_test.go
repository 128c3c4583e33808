package syncstruct

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// proxy is a TCP relay in front of a publisher that a test can cut (close
// every connection and refuse new ones) and stall (stop passing the
// publisher's bytes on, as a subscriber that does not read would).
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu      sync.Mutex
	down    bool
	stalled bool
	resume  chan struct{} // closed when a stall ends
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// newProxy relays to ep and returns the endpoint to use instead.
func newProxy(t testing.TB, ep endpoint) (*proxy, endpoint) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ep.addr
	out := ep
	if isWebSocketAddr(ep.addr) {
		scheme, rest, _ := strings.Cut(ep.addr, "://")
		host, path, _ := strings.Cut(rest, "/")
		target = host
		out.addr = scheme + "://" + ln.Addr().String() + "/" + path
	} else {
		out.addr = ln.Addr().String()
	}
	p := &proxy{t: t, ln: ln, target: target, conns: make(map[net.Conn]struct{}), resume: make(chan struct{})}
	close(p.resume)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p, out
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		// A fixed buffer (no autotuning), so that a stall backs up to the
		// publisher after a known amount; not below two loopback segments,
		// which would throttle the connection once it flows again.
		up.(*net.TCPConn).SetReadBuffer(128 << 10)
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(up, c, false)
		go p.pipe(c, up, true)
	}
}

// pipe copies src to dst; the publisher-to-subscriber direction (down)
// pauses while the proxy is stalled.
func (p *proxy) pipe(dst, src net.Conn, down bool) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		if down {
			p.mu.Lock()
			resume := p.resume
			p.mu.Unlock()
			<-resume
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// cut closes every relayed connection and refuses new ones until restore.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// stall stops passing the publisher's bytes on (the subscriber's pings
// still go through, so the publisher sees a live but stuck subscriber).
func (p *proxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stalled {
		p.stalled = true
		p.resume = make(chan struct{})
	}
}

func (p *proxy) unstall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		p.stalled = false
		close(p.resume)
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.unstall()
	p.cut()
	p.wg.Wait()
}
