package rpc

import "testing"

// TestLocalHost: the local end's host, over both protocols (SiPyCo's
// Client.get_local_host).
func TestLocalHost(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startController(t, tr, ServerOptions{})
		opts := ts.clientOpts(t)
		c, err := Dial(testCtx(t), ts.addr, "lda", opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if h := c.LocalHost(); h != "127.0.0.1" {
			t.Fatalf("native LocalHost = %q", h)
		}
		if h := dialSiPyCoTest(t, ts, "lda").LocalHost(); h != "127.0.0.1" {
			t.Fatalf("SiPyCo LocalHost = %q", h)
		}
	})
}
