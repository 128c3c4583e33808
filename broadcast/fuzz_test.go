package broadcast

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

// FuzzReceive feeds arbitrary bytes to a Receiver as its broadcaster's
// stream: it returns values or one of its documented errors, within its
// bounds, and never panics.
func FuzzReceive(f *testing.F) {
	for _, m := range messages {
		f.Add([]byte(m.pyon + "\n"))
	}
	f.Add([]byte("1\n2\n[1,\n"))
	f.Add([]byte("{\"__jsonclass__\":[\"nparray\",[[1000000000],\"<f8\",\"\"]]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		srv, cli := net.Pipe()
		defer srv.Close()
		go func() {
			io.Copy(io.Discard, io.LimitReader(srv, int64(len("ARTIQ broadcast\nccb\n"))))
			srv.Write(data)
			srv.Close()
		}()
		c := wire.NewConn(cli)
		io.WriteString(c, "ARTIQ broadcast\nccb\n")
		r := &Receiver{conn: c, channel: "ccb", br: bufio.NewReaderSize(c.R, 4096),
			opts: ReceiverOptions{MaxLineSize: 4096, Limits: pyon.Limits{MaxElements: 1000, MaxDecodedSize: 1 << 20}}, closed: make(chan struct{})}
		defer r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for n := 0; n <= bytes.Count(data, []byte("\n")); n++ {
			_, err := r.Receive(ctx)
			if err == nil {
				continue
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, ErrBadMessage) && !errors.Is(err, ErrClosed) {
				t.Fatalf("Receive: undocumented error %v", err)
			}
			return
		}
	})
}
