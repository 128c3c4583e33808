package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sigoco/sigoco/syncstruct"
)

// The dash suite's 1,000 WebSocket (JSON) subscribers run in a child
// process: this program again, with viewersEnv set to the URL and
// viewersSubsEnv to their number. The child prints "ready" once every
// subscriber is connected and synced, counts from then on, and when it
// reads "last N" on its stdin waits until every subscriber has applied
// probe N (or drainTimeout has passed), prints one JSON line
// (viewersReport) and exits.
//
// Each subscriber does what a browser's replica.js does with a message:
// it parses the whole JSON message into generic values (parseJSON, see
// dashjson.go: github.com/goccy/go-json), splits a batch,
// and applies every mod to its own replica of the tree
// (syncstruct.Apply); the probe's latency is taken once the probe's mod
// is applied. A subscriber resynced with a snapshot sees the probe the
// snapshot holds: that counts as that probe's delivery (the probes made
// while it lagged are never seen by it, as in a browser).
const (
	viewersEnv     = "SIGOCO_BENCH_DASH_VIEWERS"
	viewersSubsEnv = "SIGOCO_BENCH_DASH_SUBS"
)

// viewersReport is what the child measured after "ready".
type viewersReport struct {
	MedianMS, P99MS float64
	Samples         int    // probe deliveries timed
	Behind          int    // subscribers that had not applied the last probe at drainTimeout
	Mods            uint64 // mods applied, all subscribers
	Msgs            uint64 // WebSocket messages received, all subscribers
	Bytes           uint64 // their payload bytes
}

type viewers struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startViewers(url string, n int) (*viewers, error) {
	return startChild(viewersEnv+"="+url, viewersSubsEnv+"="+strconv.Itoa(n))
}

// startChild starts this program again with env added to its environment
// (the variable main looks at says what it does) and waits until it prints
// "ready".
func startChild(env ...string) (*viewers, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	v := &viewers{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	line, err := v.out.ReadString('\n')
	if err != nil || line != "ready\n" {
		v.kill()
		return nil, fmt.Errorf("child %q: %q, %v", env[0], line, err)
	}
	return v, nil
}

// drainTimeout bounds how long the viewers wait for the last probe.
const drainTimeout = 10 * time.Second

// finish waits until every viewer has applied probe last (or drainTimeout
// has passed), stops the viewers and returns what they measured.
func (v *viewers) finish(last int64) (viewersReport, error) {
	var rep viewersReport
	fmt.Fprintf(v.stdin, "last %d\n", last)
	line, err := v.out.ReadString('\n')
	v.stdin.Close()
	if err == nil {
		err = json.Unmarshal([]byte(line), &rep)
	}
	if werr := v.cmd.Wait(); err == nil && werr != nil {
		err = werr
	}
	return rep, err
}

func (v *viewers) kill() {
	if v.cmd.ProcessState == nil {
		v.cmd.Process.Kill()
		v.cmd.Wait()
	}
}

// viewersMain is the child: it returns the exit code.
func viewersMain(url string) int {
	n, err := strconv.Atoi(os.Getenv(viewersSubsEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "viewers:", err)
		return 2
	}
	var (
		mu       sync.Mutex
		samples  []float64
		counting atomic.Bool
		mods     atomic.Uint64
		msgs     atomic.Uint64
		bytes    atomic.Uint64
	)
	st := &viewerStats{counting: &counting, mods: &mods, msgs: &msgs, bytes: &bytes, probe: func(us int64) {
		lat := float64(time.Now().UnixMicro()-us) / 1000
		mu.Lock()
		samples = append(samples, lat)
		mu.Unlock()
	}}
	var swg sync.WaitGroup
	subs := make([]*wsSub, 0, n)
	defer func() {
		for _, c := range subs {
			c.ws.Close()
		}
		swg.Wait()
	}()
	// Generous: a loaded machine accepts 1,000 connections slowly.
	dialer := websocket.Dialer{HandshakeTimeout: 60 * time.Second}
	for range n {
		ws, _, err := dialer.Dial(url, nil)
		if err != nil {
			ws, _, err = dialer.Dial(url, nil) // once more
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "viewers: subscriber %d: %v\n", len(subs), err)
			return 1
		}
		ws.WriteMessage(websocket.TextMessage, []byte(`{"t":"subscribe","notifier":"runs","epoch":0,"seq":0}`))
		c := &wsSub{ws: ws}
		subs = append(subs, c)
		swg.Add(1)
		go func() { defer swg.Done(); c.follow(st) }()
	}
	time.Sleep(time.Second) // every subscriber synced, the runs listed
	stopProfile, err := startDashProfile("SIGOCO_BENCH_DASH_VIEWERS_CPUPROFILE")
	if err != nil {
		fmt.Fprintln(os.Stderr, "viewers:", err)
		return 1
	}
	counting.Store(true)
	fmt.Println("ready")
	if os.Getenv("SIGOCO_BENCH_DEBUG") != "" {
		fmt.Fprintln(os.Stderr, "viewers: ready at", time.Now().Format("15:04:05.000"))
	}
	var last int64
	if _, err := fmt.Fscanf(os.Stdin, "last %d\n", &last); err != nil {
		fmt.Fprintln(os.Stderr, "viewers: reading the last probe:", err)
		return 1
	}
	behind := 0
	for deadline := time.Now().Add(drainTimeout); ; time.Sleep(10 * time.Millisecond) {
		behind = 0
		for _, c := range subs {
			if c.lastProbe.Load() < last {
				behind++
			}
		}
		if behind == 0 || time.Now().After(deadline) {
			break
		}
	}
	counting.Store(false)
	stopProfile()
	mu.Lock()
	s := slices.Clone(samples)
	mu.Unlock()
	rep := viewersReport{Samples: len(s), Behind: behind, Mods: mods.Load(), Msgs: msgs.Load(), Bytes: bytes.Load()}
	if len(s) > 0 {
		slices.Sort(s)
		rep.MedianMS, rep.P99MS = s[len(s)/2], s[len(s)*99/100]
	}
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	return 0
}

// viewerStats is what the subscribers count, once counting is set.
type viewerStats struct {
	counting          *atomic.Bool
	mods, msgs, bytes *atomic.Uint64
	probe             func(us int64)
}

// wsSub is one JSON WebSocket subscriber keeping a replica of "runs".
type wsSub struct {
	ws        *websocket.Conn
	tree      any
	lastProbe atomic.Int64 // n of the newest probe applied
}

// follow reads and applies mods until the connection ends, as a browser's
// replica.js does: a WebSocket message is one message, or a batch (a JSON
// array of them).
func (c *wsSub) follow(st *viewerStats) {
	var wmu sync.Mutex
	done := make(chan struct{})
	defer close(done)
	var buf bytes.Buffer // the message read, reused (as a browser's decoder would)
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		b := buf.Bytes()
		counting := st.counting.Load()
		if counting {
			st.msgs.Add(1)
			st.bytes.Add(uint64(len(b)))
		}
		v, err := parseJSON(b)
		if err != nil {
			return
		}
		batch, ok := v.([]any)
		if !ok {
			batch = []any{v}
		}
		for _, m := range batch {
			m, _ := m.(map[string]any)
			if err := c.handle(m, st, counting, &wmu, done); err != nil {
				if os.Getenv("SIGOCO_BENCH_DEBUG") != "" {
					fmt.Fprintf(os.Stderr, "viewer: %s: %v (message %.200s)\n", time.Now().Format("15:04:05.000"), err, b)
				}
				return
			}
		}
	}
}

var errViewerEnd = errors.New("viewer: end")

func (c *wsSub) handle(m map[string]any, st *viewerStats, counting bool, wmu *sync.Mutex, done chan struct{}) error {
	if m == nil {
		return errViewerEnd // not a message
	}
	t, _ := m["t"].(string)
	switch t {
	case "sync":
		if hb, _ := m["heartbeat_ms"].(int64); hb > 0 {
			go func() {
				t := time.NewTicker(time.Duration(hb) * time.Millisecond)
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
		return nil
	case "synced", "ping":
		return nil
	case "":
	default:
		return errViewerEnd // error
	}
	action, _ := m["action"].(string)
	path, _ := m["path"].([]any)
	mod := &syncstruct.Mod{Action: syncstruct.Action(action), Path: path, Key: m["key"], Value: m["value"], X: m["x"], Struct: m["struct"]}
	if i, ok := m["i"].(int64); ok {
		mod.I = int(i)
	}
	tree, err := syncstruct.Apply(c.tree, mod)
	if err != nil {
		return err
	}
	c.tree = tree
	if counting {
		st.mods.Add(1)
	}
	if mod.Action == syncstruct.ActSetItem && len(mod.Path) == 0 && mod.Key == "probe" {
		c.sawProbe(mod.Value, st, counting)
	} else if mod.Action == syncstruct.ActInit {
		if t, ok := mod.Struct.(map[string]any); ok {
			c.sawProbe(t["probe"], st, counting)
		}
	}
	return nil
}

// sawProbe notes a probe value ({"n": n, "us": time set}) just applied.
func (c *wsSub) sawProbe(v any, st *viewerStats, counting bool) {
	p, _ := v.(map[string]any)
	n, _ := p["n"].(int64)
	us, ok := p["us"].(int64)
	if !ok || n <= c.lastProbe.Load() {
		return
	}
	c.lastProbe.Store(n)
	if counting {
		st.probe(us)
	}
}
