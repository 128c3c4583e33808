package track_test

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

type testServer struct {
	addr string
	dir  string
	srv  *server.Server
	st   *sqlite.Store
	stop func()
}

// startServer runs a tracking server on a loopback port over a store in
// dir ("" for a new temporary one). addr "" picks a free port.
func startServer(t *testing.T, dir, addr string, opts server.Options) *testServer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, st, opts)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ {
		ln, err = net.Listen("tcp", addr)
		if err == nil || i > 50 {
			break
		}
		time.Sleep(50 * time.Millisecond) // the port of a server just stopped
	}
	if err != nil {
		srv.Close()
		st.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	ts := &testServer{addr: ln.Addr().String(), dir: dir, srv: srv, st: st}
	stopped := false
	ts.stop = func() {
		if stopped {
			return
		}
		stopped = true
		srv.Close()
		ln.Close()
		<-done
		st.Close()
	}
	t.Cleanup(ts.stop)
	return ts
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
