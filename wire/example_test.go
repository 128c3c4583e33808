package wire_test

import (
	"bufio"
	"context"
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
