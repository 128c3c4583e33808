package track

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/sigoco/sigoco/internal/backoff"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// exposer keeps one connection per exposed object open to the server,
// redialling with backoff; on it the run serves the object with an rpc
// server (the server calls; the run opened the connection).
type exposer struct {
	r *Run

	mu     sync.Mutex // guards closed
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

func newExposer(r *Run) *exposer {
	x := &exposer{r: r}
	x.ctx, x.cancel = context.WithCancel(context.Background())
	return x
}

// Expose makes obj callable through the server as the object name of this
// run (rpctool, the dashboard, Reader.CallExposed): its exported methods,
// with the rules of an rpc target. Calls run on the run's goroutines, so obj
// must be safe for concurrent use with the simulation. No port is opened:
// the run dials the server.
func (r *Run) Expose(name string, obj any) error { return r.ExposeWith(name, obj, ExposeOptions{}) }

// ExposeOptions configures an exposed object. The zero value works.
type ExposeOptions struct {
	// CallableBy grants calls of the object's methods to every identity
	// of this role or above (auth.Viewer: anyone who may read the run;
	// auth.Runner), beside the run's owner, admins and holders of the
	// run's credential, who may always call. Default auth.None: nobody
	// more (docs/security.md).
	CallableBy auth.Role
}

// ExposeWith is Expose with options.
func (r *Run) ExposeWith(name string, obj any, o ExposeOptions) error {
	if r == nil {
		return nil
	}
	h := store.ExposeHello{Run: r.id, Name: name, Token: r.token()}
	if o.CallableBy > auth.None {
		h.CallableBy = o.CallableBy.String()
	}
	hello, _ := json.Marshal(h)
	srv, err := rpc.NewServer(map[string]any{name: obj}, rpc.ServerOptions{Description: string(hello), Logger: r.log})
	if err != nil {
		return fmt.Errorf("track: expose %q: %w", name, err)
	}
	x := r.ex
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		srv.Close()
		return ErrEnded
	}
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		defer srv.Close()
		for n := 0; x.ctx.Err() == nil; n++ {
			dctx, cancel := context.WithTimeout(x.ctx, r.opts.CallTimeout)
			conn, err := wire.Dial(dctx, r.snd.addr(), r.opts.TLS, wire.BannerExpose) // the server in use (failover.go)
			cancel()
			if err == nil {
				n = 0
				srv.ServeConn(x.ctx, conn)
				conn.Close()
			}
			select {
			case <-x.ctx.Done():
				return
			case <-time.After(backoff.Wait(n, 100*time.Millisecond, 5*time.Second)):
			}
		}
	}()
	return nil
}

func (x *exposer) close() {
	x.mu.Lock()
	x.closed = true
	x.mu.Unlock()
	x.cancel()
	x.wg.Wait()
}
