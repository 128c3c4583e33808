package track_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestLogsTailCount: the logs query's tail is a count on the wire
// ({tail: 3}: the newest 3 records), and still a bool with limit; a count
// that disagrees with limit, or a value of another type, is a clear
// BadArguments.
func TestLogsTailCount(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "tail", Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		run.Logger().Info(fmt.Sprint("line ", i))
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	c, err := rpc.Dial(ctx, ts.addr, "tracker", rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	messages := func(q map[string]any) ([]string, error) {
		var page store.LogPage
		if err := c.CallInto(ctx, &page, "logs", q); err != nil {
			return nil, err
		}
		var ms []string
		for _, l := range page.Logs {
			ms = append(ms, l.Message)
		}
		return ms, nil
	}
	for ctx.Err() == nil { // the server stores a run's logs in the background
		if ms, err := messages(map[string]any{"run": run.ID()}); err != nil {
			t.Fatal(err)
		} else if len(ms) == 10 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, tc := range []struct {
		q    map[string]any
		want string
	}{
		{map[string]any{"run": run.ID(), "tail": 3}, "line 7,line 8,line 9"},
		{map[string]any{"run": run.ID(), "tail": 3, "limit": 3}, "line 7,line 8,line 9"},
		{map[string]any{"run": run.ID(), "tail": true, "limit": 2}, "line 8,line 9"},
		{map[string]any{"run": run.ID(), "tail": 0, "limit": 2}, "line 0,line 1"},
	} {
		got, err := messages(tc.q)
		if err != nil || strings.Join(got, ",") != tc.want {
			t.Errorf("logs %v: %v %q, want %q", tc.q, err, got, tc.want)
		}
	}
	for _, tc := range []struct {
		q    map[string]any
		want string
	}{
		{map[string]any{"run": run.ID(), "tail": "3"}, "tail is a count of records"},
		{map[string]any{"run": run.ID(), "tail": -1}, "out of range"},
		{map[string]any{"run": run.ID(), "tail": 3, "limit": 5}, "disagree"},
	} {
		_, err := messages(tc.q)
		if !errors.Is(err, rpc.ErrBadArguments) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("logs %v: %v, want BadArguments with %q", tc.q, err, tc.want)
		}
	}
}
