package demo_test

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sigoco/sigoco/internal/demo"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// TestRun runs the model to the end against a real server and checks what
// it recorded.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(ctx, st, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx, ln) }()
	defer func() { srv.Close(); <-done }()
	err = demo.Simulate(ctx, track.Options{Addr: ln.Addr().String(), SpoolDir: t.TempDir(), NoSource: true, Name: "test"},
		demo.SimConfig{Steps: 2000, Every: 10, Sleep: func(time.Duration) {}})
	if err != nil {
		t.Fatal(err)
	}
	page, err := st.ListRuns(ctx, store.RunFilter{Project: "demo"})
	if err != nil || len(page.Runs) != 1 {
		t.Fatalf("%v %+v", err, page)
	}
	r, err := st.GetRun(ctx, page.Runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.StatusFinished || r.Progress != 100 || len(r.Series) != 3 || r.Series[0].Len != 200 || len(r.Artifacts) != 1 || r.Params["gamma"] != 0.1 {
		t.Fatalf("run %+v", r)
	}
	// The energy of a damped oscillator decays from its start.
	e, err := st.Series(ctx, r.ID, "energy", store.SeriesQuery{})
	if err != nil || !(e.Value[len(e.Value)-1] < e.Value[0]) {
		t.Fatalf("energy %v: first %g last %g", err, e.Value[0], e.Value[len(e.Value)-1])
	}
}

func TestSetRateRange(t *testing.T) {
	var c demo.Control
	if _, err := c.SetRate(0); err == nil {
		t.Fatal("rate 0 accepted")
	}
	if r, err := c.SetRate(50); err != nil || r != 50 {
		t.Fatal(r, err)
	}
}
