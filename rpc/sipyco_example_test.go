package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/sigoco/sigoco/rpc"
)

// Speaking SiPyCo's pc_rpc, as a Python client (or the Go client talking
// to an ARTIQ controller) does. The same server answers both protocols.
func ExampleProtocol() {
	addr, stop := serve()
	defer stop()
	ctx := context.Background()
	c, err := rpc.Dial(ctx, addr, "calc", rpc.ClientOptions{Protocol: rpc.ProtocolSiPyCo})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Println(c.Protocol())

	var s string
	if err := c.CallInto(ctx, &s, "format", 2.5, rpc.Kwargs{"digits": 2, "unit": "dB"}); err != nil {
		panic(err)
	}
	fmt.Println(s)

	// Remote errors carry the Python class a SiPyCo client raises.
	_, err = c.Call(ctx, "divide", 1, 0)
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		fmt.Println(re.Type, "|", re.Message)
	}

	// SiPyCo's listing, as sipyco_rpctool list-methods prints it.
	info, err := c.ListMethods(ctx)
	if err != nil {
		panic(err)
	}
	for _, m := range info.Methods {
		fmt.Println(m.Name + m.Signature)
	}
	// Output:
	// sipyco
	// 2.50 dB
	// GenericRemoteException | error: division by zero
	// add(self, arg0: 'int', arg1: 'int') -> 'int'
	// divide(self, arg0: 'float', arg1: 'float') -> 'float'
	// format(self, arg0: 'float', *, digits: 'int' = 0, unit: 'str' = '') -> 'str'
}

// Attenuator rejects values out of range with rpc.ErrValue.
type Attenuator struct{ db float64 }

// SetAttenuation sets the attenuation (0 to 31.5 dB).
func (a *Attenuator) SetAttenuation(db float64) error {
	if db < 0 || db > 31.5 {
		return fmt.Errorf("%w: %g dB is outside 0-31.5 dB", rpc.ErrValue, db)
	}
	a.db = db
	return nil
}

// An error wrapping ErrValue reaches SiPyCo clients as a ValueError.
func ExampleErrValue() {
	srv, err := rpc.NewServer(map[string]any{"lda": &Attenuator{}}, rpc.ServerOptions{})
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
	defer func() { srv.Close(); <-done }()

	ctx := context.Background()
	for _, p := range []rpc.Protocol{rpc.ProtocolNative, rpc.ProtocolSiPyCo} {
		c, err := rpc.Dial(ctx, ln.Addr().String(), "lda", rpc.ClientOptions{Protocol: p})
		if err != nil {
			panic(err)
		}
		_, err = c.Call(ctx, "set_attenuation", 40.0)
		fmt.Printf("%s: %v\n", p, err)
		c.Close()
	}
	// Output:
	// native: ValueError: 40 dB is outside 0-31.5 dB
	// sipyco: ValueError: 40 dB is outside 0-31.5 dB
}
