package dashboard_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestBrowserLivePointTime: on a chart over wall time, a point that
// arrives live is placed at the time it was logged (the live state's
// series time), not at the time it reached the browser.
func TestBrowserLivePointTime(t *testing.T) {
	ctx := browser(t)
	s := startStack(t, "", "", "", server.Options{})
	bg := context.Background()
	id := tableID(7)
	t1 := time.Now().Add(-2 * time.Hour).UnixNano()
	t2 := time.Now().Add(-1 * time.Hour).UnixNano()
	point := func(seq, step, tm int64, v float64) store.Points {
		return store.Points{Keys: []string{"x"}, Key: []int64{0}, Seq: []int64{seq}, Step: []int64{step}, Time: []int64{tm}, Value: []float64{v}}
	}
	b := &store.Batch{Run: id, Records: []store.Record{
		{Seq: 1, Kind: store.KindStart, Key: "live", Value: "clock", Time: time.Now().UnixNano()},
		{Seq: 2, Kind: store.KindStatus, Key: "running", Time: time.Now().UnixNano()},
	}, Points: point(3, 1, t1, 1)}
	if ack, err := s.srv.Ingest(bg, b); err != nil || len(ack.Rejected) > 0 {
		t.Fatalf("%v %+v", err, ack)
	}
	p := &page{t: t, ctx: ctx, base: "http://" + s.dashAddr, dir: screenshotDir(t)}
	chart := `document.querySelector('.chart[data-keys="x"]')`
	near := func(ns int64) string {
		return fmt.Sprintf(`Math.abs(Number(%s?.dataset.xlast) - %f) < 0.01`, chart, float64(ns)/1e9)
	}
	p.open(fmt.Sprintf("#/run/%s?charts=x~x%%3Dwall", id))
	p.wait("the stored point at its time", chart+`?.dataset.points === "1" && `+near(t1), 20*time.Second)
	if ack, err := s.srv.Ingest(bg, &store.Batch{Run: id, Points: point(4, 2, t2, 2)}); err != nil || len(ack.Rejected) > 0 {
		t.Fatalf("%v %+v", err, ack)
	}
	p.wait("the live point at the time it was logged (an hour ago), not now", chart+`?.dataset.points === "2" && `+near(t2), 20*time.Second)
}
