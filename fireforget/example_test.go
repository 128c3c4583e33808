package fireforget_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sigoco/sigoco/fireforget"
	"github.com/sigoco/sigoco/rpc"
)

type display struct{}

func (display) ShowStatus(text string) { fmt.Println("status:", text) }

// Slow, non-critical calls run in the background; the caller never waits.
func Example() {
	p, err := fireforget.New(display{}, fireforget.Options{
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), // drops and failures are warned here
	})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	p.Call("show_status", "scan started") // returns at once

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.Join(ctx) // wait for the call, here only to make the output predictable
	// Output: status: scan started
}

// Keep only the latest value for a slow setter: a dashboard slider that
// must not queue up every intermediate position.
func Example_coalesce() {
	p, _ := fireforget.New(display{}, fireforget.Options{Policy: fireforget.Coalesce})
	defer p.Close()
	for _, pos := range []string{"10", "20", "30"} {
		p.Call("ShowStatus", "position "+pos)
	}
	p.Join(context.Background())
	// Which intermediate positions run depends on timing; the last always does.
}

// With an *rpc.Client (or *rpc.BestEffortClient) as target, calls go
// through its Call method.
func Example_rpcClient() {
	ctx := context.Background()
	client, err := rpc.Dial(ctx, "lab-pc:3253", "lda", rpc.ClientOptions{})
	if err != nil {
		return
	}
	defer client.Close()
	p, _ := fireforget.New(client, fireforget.Options{})
	defer p.Close()
	p.Call("set_attenuation", 5.5) // returns at once; failures become warnings
}
