package wire_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sigoco/sigoco/wire"
)

// greeter is a tiny native protocol: after its banner, it answers one
// msgpack frame holding a name with a frame holding a greeting.
type greeter struct{}

func (greeter) ServeConn(ctx context.Context, conn net.Conn) error {
	c := wire.NewConn(conn) // the banner is still unread, behind a Mux or not
	if _, err := c.ReadBanner(); err != nil {
		return err
	}
	frame, err := c.FrameReader(1024).Next()
	if err != nil {
		return err
	}
	var name string
	if err := msgpack.Unmarshal(frame, &name); err != nil {
		return err
	}
	return wire.NewEncoder(1024).Write(c, "hello "+name)
}

// One listener, connections dispatched by their banner line.
func ExampleMux() {
	mux := wire.NewMux(wire.MuxOptions{})
	mux.Handle(wire.BannerRPC, greeter{})
	defer mux.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go mux.Serve(context.Background(), ln)

	ctx := context.Background()
	c, err := wire.Dial(ctx, ln.Addr().String(), nil, wire.BannerRPC)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := wire.NewEncoder(0).Write(c, "lab"); err != nil {
		panic(err)
	}
	reply, err := c.FrameReader(0).Next()
	if err != nil {
		panic(err)
	}
	var greeting string
	msgpack.Unmarshal(reply, &greeting)
	fmt.Println(greeting)

	// A banner nobody serves gets one line of explanation.
	bad, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer bad.Close()
	fmt.Fprintf(bad, "HELLO\n")
	line, _ := bufio.NewReader(bad).ReadString('\n')
	fmt.Print(line)
	// Output:
	// hello lab
	// SIGOCO error: unknown banner "HELLO"; this port serves: "SIGOCO rpc 2"
}

// lineServer shows how a server uses the one accept loop: Serve for its
// own listeners, Track/Untrack in ServeConn for what a Mux hands over.
type lineServer struct{ loop *wire.AcceptLoop }

func (s *lineServer) Serve(ctx context.Context, ln net.Listener) error {
	return s.loop.Serve(ctx, ln, s.serve) // accepted connections are tracked
}

func (s *lineServer) ServeConn(ctx context.Context, c net.Conn) error {
	defer c.Close()
	if err := s.loop.Track(c); err != nil {
		if errors.Is(err, wire.ErrTooManyConns) {
			wire.RefuseConn(c, "too many connections")
		}
		return err
	}
	defer s.loop.Untrack(c)
	s.serve(ctx, c)
	return nil
}

func (s *lineServer) serve(ctx context.Context, c net.Conn) {
	wc := wire.NewConn(c)
	if line, err := wc.ReadBanner(); err == nil {
		fmt.Fprintf(wc, "you said %s\n", line)
	}
}

func ExampleAcceptLoop() {
	s := &lineServer{loop: wire.NewAcceptLoop(wire.AcceptOptions{MaxConns: 100})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), ln) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s\n", wire.BannerLog)
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)

	s.loop.Close()
	fmt.Println(errors.Is(<-done, net.ErrClosed))
	// Output:
	// you said SIGOCO log 2
	// true
}
