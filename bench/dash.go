package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/dashboard"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// The dash suite measures the dashboard's live path and its run page:
//
//	dash.ws1000.median_ms, dash.ws1000.p99_ms: 1,000 WebSocket (JSON)
//	subscribers to "runs" while 10 runs log 100 results/s each; the latency
//	from a change of the "runs" notifier on the server (a probe key set
//	every 50 ms, queued behind the runs' own mods) to the subscriber's
//	replica having applied it (syncstruct.Apply). Targets: median <= 20 ms,
//	p99 <= 100 ms on 2 cores.
//	dash.run_page.first_paint_ms: headless Chromium opens the run page of a
//	run with a 1,000,000-point series (the chart loads it downsampled with
//	max_points) and the first chart is drawn; from navigation start.
//	Target <= 1,000 ms. Skipped (stated on stderr) without Chromium.
//
// The subscribers run in this process, so they share its 2 cores with
// the server: the figure is an upper bound on what remote browsers see.
func init() { register("dash", benchDash) }

type dashStack struct {
	addr, dashAddr string
	srv            *server.Server
	close          func()
}

func startDash(dir string) (*dashStack, error) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	srv, err := server.New(ctx, st, server.Options{})
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		st.Close()
		return nil, err
	}
	go srv.Serve(ctx, ln)
	addr := ln.Addr().String()
	tr := dashboard.NewRedialer(addr, server.TargetName, rpc.ClientOptions{})
	back, _ := url.Parse("http://" + addr)
	h := dashboard.New(dashboard.Options{Tracker: tr, Next: httputil.NewSingleHostReverseProxy(back)})
	dln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(dln)
	return &dashStack{addr: addr, dashAddr: dln.Addr().String(), srv: srv, close: func() {
		hs.Close()
		srv.Close()
		ln.Close()
		tr.Close()
		st.Close()
	}}, nil
}

func benchDash(cfg config) ([]result, error) {
	dir, err := os.MkdirTemp("", "sigoco-bench-dash-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	s, err := startDash(dir + "/data")
	if err != nil {
		return nil, err
	}
	defer s.close()
	med, p99, perSub, err := dashWS(s, dir, cfg)
	if err != nil {
		return nil, err
	}
	out := []result{{"dash.ws1000.median_ms", med, "ms"}, {"dash.ws1000.p99_ms", p99, "ms"}, {"dash.ws1000.msgs_per_sub_s", perSub, "msg/s"}}
	paint, err := dashFirstPaint(s, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: dash.run_page.first_paint_ms not measured:", err)
		return out, nil
	}
	return append(out, result{"dash.run_page.first_paint_ms", paint, "ms"}), nil
}

// wsSub is one JSON WebSocket subscriber keeping a replica of "runs".
type wsSub struct {
	ws   *websocket.Conn
	tree any
}

type wsMsg struct {
	T           string          `json:"t"`
	HeartbeatMS int             `json:"heartbeat_ms"`
	Action      string          `json:"action"`
	Path        []any           `json:"path"`
	Key         any             `json:"key"`
	Value       any             `json:"value"`
	X           any             `json:"x"`
	I           *int            `json:"i"`
	Struct      any             `json:"struct"`
	Code        string          `json:"code"`
	Message     json.RawMessage `json:"message"`
}

func jsonNormal(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) && x > -1<<53 && x < 1<<53 {
			return int64(x) // JSON lost the int/float distinction; indices must be ints
		}
	case []any:
		for i := range x {
			x[i] = jsonNormal(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = jsonNormal(x[k])
		}
	}
	return v
}

// follow reads and applies mods until the connection ends; probe reports
// the probe numbers seen (key "probe" set to {"n": N}).
func (c *wsSub) follow(probe func(n int64)) {
	var wmu sync.Mutex
	done := make(chan struct{})
	defer close(done)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		wsMsgs.Add(1)
		var m wsMsg
		if err := json.Unmarshal(b, &m); err != nil {
			return
		}
		switch m.T {
		case "sync":
			if m.HeartbeatMS > 0 {
				go func() {
					t := time.NewTicker(time.Duration(m.HeartbeatMS) * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-done:
							return
						case <-t.C:
						}
						wmu.Lock()
						err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"t":"ping"}`))
						wmu.Unlock()
						if err != nil {
							return
						}
					}
				}()
			}
			continue
		case "synced", "ping":
			continue
		case "":
		default:
			return // error
		}
		mod := &syncstruct.Mod{Action: syncstruct.Action(m.Action), Path: jsonNormal(m.Path).([]any), Key: m.Key, Value: jsonNormal(m.Value), X: jsonNormal(m.X), Struct: jsonNormal(m.Struct)}
		if m.Path == nil {
			mod.Path = nil
		}
		if m.I != nil {
			mod.I = *m.I
		}
		tree, err := syncstruct.Apply(c.tree, mod)
		if err != nil {
			return
		}
		c.tree = tree
		if mod.Action == syncstruct.ActSetItem && len(mod.Path) == 0 && mod.Key == "probe" {
			if v, ok := mod.Value.(map[string]any); ok {
				if n, ok := v["n"].(int64); ok {
					probe(n)
				}
			}
		}
	}
}

func dashWS(s *dashStack, dir string, cfg config) (median, p99, perSub float64, err error) {
	const nRuns, rate = 10, 100
	nSubs := 1000
	if v, err := strconv.Atoi(os.Getenv("DASH_SUBS")); err == nil {
		nSubs = v // for experiments
	}
	dur := 10 * time.Second
	if cfg.quick {
		dur = 3 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 10 runs logging 100 results/s each.
	var rwg sync.WaitGroup
	for i := range nRuns {
		run, err := track.Start(ctx, track.Options{Project: "bench", Name: "run" + strconv.Itoa(i), Addr: s.addr, SpoolDir: dir + "/spool", NoMetadata: true})
		if err != nil {
			return 0, 0, 0, err
		}
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			t := time.NewTicker(time.Second / rate)
			defer t.Stop()
			for step := int64(0); ; step++ {
				select {
				case <-ctx.Done():
					ectx, c := context.WithTimeout(context.Background(), 10*time.Second)
					run.End(ectx, track.StatusFinished)
					c()
					return
				case <-t.C:
				}
				run.LogResult("loss", 1/float64(step+1), step)
				run.SetStep(step)
			}
		}()
	}
	// 1,000 subscribers.
	var (
		mu      sync.Mutex
		sent    = map[int64]time.Time{}
		samples []float64
	)
	probe := func(n int64) {
		now := time.Now()
		mu.Lock()
		if t0, ok := sent[n]; ok {
			samples = append(samples, float64(now.Sub(t0).Microseconds())/1000)
		}
		mu.Unlock()
	}
	var swg sync.WaitGroup
	subs := make([]*wsSub, 0, nSubs)
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	for range nSubs {
		ws, _, err := dialer.Dial("ws://"+s.addr+"/sync", nil)
		if err != nil {
			err = fmt.Errorf("subscriber %d: %w", len(subs), err)
			for _, c := range subs {
				c.ws.Close()
			}
			return 0, 0, 0, err
		}
		ws.WriteMessage(websocket.TextMessage, []byte(`{"t":"subscribe","notifier":"runs","epoch":0,"seq":0}`))
		c := &wsSub{ws: ws}
		subs = append(subs, c)
		swg.Add(1)
		go func() { defer swg.Done(); c.follow(probe) }()
	}
	defer func() {
		for _, c := range subs {
			c.ws.Close()
		}
		swg.Wait()
	}()
	time.Sleep(time.Second) // every subscriber synced, the runs listed
	msgs0, t0 := wsMsgs.Load(), time.Now()
	runs := s.srv.Live().Runs()
	t := time.NewTicker(50 * time.Millisecond)
	end := time.Now().Add(dur)
	for n := int64(1); time.Now().Before(end); n++ {
		<-t.C
		mu.Lock()
		sent[n] = time.Now()
		mu.Unlock()
		if err := runs.Set("probe", map[string]any{"n": n}); err != nil {
			t.Stop()
			return 0, 0, 0, err
		}
	}
	t.Stop()
	perSub = float64(wsMsgs.Load()-msgs0) / time.Since(t0).Seconds() / float64(nSubs)
	time.Sleep(500 * time.Millisecond) // the last probes arrive
	cancel()
	rwg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(samples) == 0 {
		return 0, 0, 0, errors.New("no probe reached a subscriber")
	}
	slices.Sort(samples)
	want := len(sent) * nSubs
	if len(samples) < want*9/10 {
		fmt.Fprintf(os.Stderr, "bench: dash.ws1000: %d of %d probe deliveries arrived\n", len(samples), want)
	}
	return samples[len(samples)/2], samples[len(samples)*99/100], perSub, nil
}

// wsMsgs counts the WebSocket messages all subscribers received.
var wsMsgs atomic.Uint64

func dashFirstPaint(s *dashStack, dir string) (float64, error) {
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if path, err = exec.LookPath("chromium"); err != nil {
			return 0, errors.New("no chromium")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := track.Start(ctx, track.Options{Project: "bench", Name: "million", Addr: s.addr, SpoolDir: dir + "/spool", NoMetadata: true, MaxQueued: 2_000_000})
	if err != nil {
		return 0, err
	}
	for i := range int64(1_000_000) {
		run.LogResult("signal", float64(i%1000)/1000, i)
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		return 0, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.Flag("headless", true), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.WindowSize(1400, 1000))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	base := "http://" + s.dashAddr
	// Warm the browser (process start, module cache) on another page first.
	if err := chromedp.Run(bctx, chromedp.Navigate(base+"/#/runs"), chromedp.WaitReady("body")); err != nil {
		return 0, err
	}
	var ms float64
	err = chromedp.Run(bctx,
		chromedp.Navigate(base+"/?fresh=1#/run/"+run.ID()),
		chromedp.Poll(`document.documentElement.dataset.chartPaintMs`, nil, chromedp.WithPollingTimeout(60*time.Second)),
		chromedp.Evaluate(`Number(document.documentElement.dataset.chartPaintMs)`, &ms))
	return ms, err
}
