package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// testdata/sipyco_rpctool.jsonl is real sipyco_rpctool output (the
// capture script beside it says how it was made): for each case the
// arguments, the reply line SiPyCo's server sent and what sipyco_rpctool
// printed. TestSiPyCoFormat has a fake SiPyCo server send the same reply
// to rpctool --output sipyco and compares the output. Where numpy 1.x
// (the capture's) and numpy 2 (pyon.Repr's spelling) write a scalar
// differently, sipycoFormatNumpy1 gives rpctool's output and why.
type sipycoCapture struct {
	Case   string   `json:"case"`
	Args   []string `json:"args"`
	Reply  *string  `json:"reply"`
	Stdout string   `json:"stdout"`
	Exit   int      `json:"exit"`
}

var sipycoFormatNumpy1 = map[string]string{
	"np_int32":       "np.int32(7)\n",
	"np_float32":     "np.float32(0.5)\n",
	"np_bool":        "np.True_\n",
	"np_uint64":      "np.uint64(18446744073709551615)\n",
	"np_datetime64":  "np.datetime64('1970-01-01T00:00:00')\n",
	"np_timedelta64": "np.timedelta64(5,'ms')\n",
	"nested_mix":     "{1: b'x', 'arr': array([1, 2]), 's': {4, 5}, 't': (np.int32(1), Fraction(1, 2))}\n",
}

func TestSiPyCoFormat(t *testing.T) {
	f, err := os.Open("testdata/sipyco_rpctool.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []sipycoCapture
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c sipycoCapture
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		if c.Case != "_versions" {
			cases = append(cases, c)
		}
	}
	if len(cases) < 60 {
		t.Fatalf("only %d captured cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Case, func(t *testing.T) {
			reply := ""
			if c.Reply != nil {
				reply = *c.Reply
			}
			addr := fakeSiPyCoCapture(t, reply)
			host, port, _ := net.SplitHostPort(addr)
			r := runTool(t, nil, append([]string{"--sipyco", "--output", "sipyco", host, port}, c.Args...)...)
			want := c.Stdout
			if w, ok := sipycoFormatNumpy1[c.Case]; ok {
				want = w
			}
			if r.code != c.Exit || r.stdout != want {
				t.Errorf("rpctool --output sipyco %s: exit %d\n%s\nwant (sipyco_rpctool) exit %d\n%s\nstderr: %s",
					strings.Join(c.Args, " "), r.code, r.stdout, c.Exit, want, r.stderr)
			}
		})
	}
}

// fakeSiPyCoCapture answers as the capture's SiPyCo server did: target
// "t", and reply to whatever is asked.
func fakeSiPyCoCapture(t *testing.T, reply string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(nc)
		if l, _ := r.ReadString('\n'); l != wire.BannerSiPyCoRPC+"\n" {
			return
		}
		io.WriteString(nc, `{"targets": ["t"], "description": "capture server", "features": ["pyon_v2"]}`+"\n")
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		io.WriteString(nc, `{"__jsonclass__": ["set", [["add", "annotated", "get", "nothing", "terminate"]]]}`+"\n")
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			io.WriteString(nc, reply+"\n")
		}
	}()
	return ln.Addr().String()
}
