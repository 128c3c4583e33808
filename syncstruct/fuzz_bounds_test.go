package syncstruct

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// decodeBounds are what one fuzz input may cost: allocation at most
// allocFactor times its size plus allocSlack, and at most decodeTime. The
// slack covers the stream decoder of chunked snapshots, which reads a
// string or bin of announced length in pieces of at most 1 MiB: a length
// that lies costs at most that before the stream ends.
const (
	allocFactor = 64
	allocSlack  = 2 << 20
	decodeTime  = 2 * time.Second
)

// checkBounds runs fn once and fails if it allocated or took more than
// the bounds allow for an input of n bytes.
func checkBounds(t *testing.T, n int, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	fn()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(allocFactor*n+allocSlack) {
		t.Fatalf("%d bytes of input allocated %d bytes (bound %d)", n, alloc, allocFactor*n+allocSlack)
	}
	if took > decodeTime {
		t.Fatalf("%d bytes of input took %v (bound %v)", n, took, decodeTime)
	}
}

// FuzzSnapshotChunks feeds arbitrary bytes, cut into chunks, to the
// subscriber's chunked snapshot decoding (chunkReader + decodeInit), as
// chunk messages from a publisher would arrive: an error or an init mod,
// never a panic, within the allocation and time bounds.
func FuzzSnapshotChunks(f *testing.F) {
	ch := newChunker(false)
	encMsgpack.WriteInit(ch, map[string]any{"x": []any{int64(1), "s", 2.5}, "big": bytes.Repeat([]byte{7}, 300)}, 9)
	f.Add(uint16(7), bytes.Join(ch.Pieces(), nil))
	f.Add(uint16(1), []byte{0x83, 0xa6, 'a', 'c', 't', 'i', 'o', 'n', 0xa4, 'i', 'n', 'i', 't', 0xa6, 's', 't', 'r', 'u', 'c', 't', 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add(uint16(3), []byte{0x81, 0xa6, 's', 't', 'r', 'u', 'c', 't', 0xc6, 0xff, 0xff, 0xff, 0xff}) // bin32 announcing 4 GiB
	f.Fuzz(func(t *testing.T, cut uint16, b []byte) {
		size := int(cut%4096) + 1
		checkBounds(t, len(b), func() {
			rest := b
			cr := &chunkReader{next: func() ([]byte, error) {
				if len(rest) == 0 {
					return nil, errEndOfChunks
				}
				n := min(size, len(rest))
				c := rest[:n]
				rest = rest[n:]
				return c, nil
			}}
			m, err := decodeInit(msgpack.NewDecoder(cr))
			if err == nil && m.Action != ActInit {
				t.Fatalf("decodeInit returned a %s mod", m.Action)
			}
		})
	})
}

var errEndOfChunks = &chunkEnd{}

type chunkEnd struct{}

func (*chunkEnd) Error() string { return "no more chunks" }

// FuzzWebSocketJSON feeds arbitrary text to the publisher's decoding of a
// browser's WebSocket JSON messages: the first line as the subscribe
// message, the following lines as the messages after it (pings). An error
// or a message, never a panic, within the bounds.
func FuzzWebSocketJSON(f *testing.F) {
	f.Add([]byte(`{"t":"subscribe","notifier":"state","epoch":0,"seq":0}` + "\n" + `{"t":"ping"}`))
	f.Add([]byte(`{"t":"subscribe","notifier":"state","epoch":18446744073709551615,"seq":1}` + "\n" + `{"t":"subscribe"}`))
	f.Add([]byte(`{"t":"subscribe","notifier":"` + string(bytes.Repeat([]byte("x"), 1000)) + `"}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[` + "\n" + `{"t":1e999999}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := &wsTransport{text: true}
		checkBounds(t, len(b), func() {
			lines := bytes.Split(b, []byte("\n"))
			sub, err := decodeSubscribe(tr, lines[0])
			if err != nil {
				return
			}
			if sub.T != msgSubscribe || sub.Notifier == "" {
				t.Fatalf("decodeSubscribe accepted %+v", sub)
			}
			dec := newMsgDecoder()
			for _, l := range lines[1:] {
				if _, err := messageType(tr, dec, l); err != nil {
					return
				}
			}
		})
	})
}
