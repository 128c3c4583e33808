package rpc

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
)

// fakeSiPyCoReply serves one SiPyCo client: identification, target "t"
// with one method "get", then reply (a whole line) to its one request.
func fakeSiPyCoReply(t *testing.T, reply string) string {
	ln := listen(t)
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
		for _, answer := range []string{
			`{"targets": ["t"], "description": null, "features": ["pyon_v2"]}` + "\n",
			`{"__jsonclass__": ["set", [["get", "terminate"]]]}` + "\n",
			reply,
		} {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			if _, err := io.WriteString(nc, answer); err != nil {
				return
			}
		}
		r.ReadString('\n') // until the client closes
	}()
	return ln.Addr().String()
}

// Issue 21: a 20 MiB numpy array returned by a Python server (20971520
// one-byte elements, over pyon's default of 16 Mi) is accepted by the Go
// client: its limits default to what fits in a frame, and
// ClientOptions.Limits sets them.
func TestSiPyCoClientLimits(t *testing.T) {
	array := func(n int) string {
		return `{"status": "ok", "ret": {"__jsonclass__": ["nparray", [[` + strconv.Itoa(n) + `], "|u1", "` +
			base64.StdEncoding.EncodeToString(make([]byte, n)) + `"]]}}` + "\n"
	}
	for _, tt := range []struct {
		name string
		n    int
		opts ClientOptions
		err  error
	}{
		{"20 MiB, defaults", 20 << 20, ClientOptions{}, nil},
		{"MaxElements set", 1000, ClientOptions{Limits: pyon.Limits{MaxElements: 1000}}, nil},
		{"over MaxElements", 1001, ClientOptions{Limits: pyon.Limits{MaxElements: 1000}}, pyon.ErrLimit},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Protocol = ProtocolSiPyCo
			c, err := Dial(testCtx(t), fakeSiPyCoReply(t, array(tt.n)), "t", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var a pyon.NDArray
			err = c.CallInto(testCtx(t), &a, "get")
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || a.Len() != tt.n || a.DType != "|u1" {
				t.Fatalf("get = %d elements of %s, %v", a.Len(), a.DType, err)
			}
		})
	}
}
