package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/sigoco/sigoco/rpc"
)

// Calculator is a target: its exported methods are callable remotely.
type Calculator struct{}

// Add adds.
func (Calculator) Add(a, b int) int { return a + b }

// Divide divides; dividing by zero is an error.
func (Calculator) Divide(a, b float64) (float64, error) {
	if b == 0 {
		return 0, errors.New("division by zero")
	}
	return a / b, nil
}

// Format formats x; keyword arguments fill its options.
func (Calculator) Format(x float64, opts FormatOptions) string {
	return fmt.Sprintf("%.*f %s", opts.Digits, x, opts.Unit)
}

// FormatOptions are Format's keyword arguments (digits=, unit=).
type FormatOptions struct {
	Digits int
	Unit   string
}

// serve starts a server for Calculator on a loopback port and returns its
// address and a function that stops it.
func serve() (string, func()) {
	srv, err := rpc.NewServer(map[string]any{"calc": Calculator{}}, rpc.ServerOptions{Description: "example"})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(context.Background(), ln)
	}()
	return ln.Addr().String(), func() {
		srv.Close()
		<-done
	}
}

func Example() {
	addr, stop := serve()
	defer stop()
	ctx := context.Background()

	c, err := rpc.Dial(ctx, addr, "calc", rpc.ClientOptions{})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	var sum int
	if err := c.CallInto(ctx, &sum, "add", 2, 3); err != nil {
		panic(err)
	}
	fmt.Println("add:", sum)

	_, err = c.Call(ctx, "divide", 1, 0)
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		fmt.Println("remote error:", re.Message)
	}

	_, err = c.Call(ctx, "add", 1, "two")
	fmt.Println(errors.Is(err, rpc.ErrBadArguments), err)
	// Output:
	// add: 5
	// remote error: division by zero
	// true rpc.BadArguments: add: argument 2: cannot use string "two" as int
}

func ExampleKwargs() {
	addr, stop := serve()
	defer stop()
	ctx := context.Background()
	c, err := rpc.Dial(ctx, addr, "", rpc.ClientOptions{}) // the only target
	if err != nil {
		panic(err)
	}
	defer c.Close()

	s, err := c.Call(ctx, "format", 3.14159, rpc.Kwargs{"digits": 2, "unit": "rad"})
	fmt.Println(s, err)
	// Output: 3.14 rad <nil>
}

func ExampleClient_ListMethods() {
	addr, stop := serve()
	defer stop()
	ctx := context.Background()
	c, err := rpc.Dial(ctx, addr, "calc", rpc.ClientOptions{})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	fmt.Println(c.Description(), c.Targets())
	info, err := c.ListMethods(ctx)
	if err != nil {
		panic(err)
	}
	for _, m := range info.Methods {
		fmt.Println(m.Name, m.Params, m.Results)
	}
	// Output:
	// example [calc]
	// add [{ int} { int}] [int]
	// divide [{ float64} { float64}] [float64 error]
	// format [{ float64} { rpc_test.FormatOptions}] [string]
}

func Example_unknownMethod() {
	addr, stop := serve()
	defer stop()
	ctx := context.Background()
	c, err := rpc.Dial(ctx, addr, "calc", rpc.ClientOptions{})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	_, err = c.Call(ctx, "devide", 1, 2)
	fmt.Println(errors.Is(err, rpc.ErrUnknownMethod))
	fmt.Println(err)
	// Output:
	// true
	// rpc.UnknownMethod: unknown method "devide" of target "calc"; did you mean divide?
}
