package logfwd

import (
	"bytes"
	"errors"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
)

// allocated returns the bytes f allocates (all goroutines: run it while
// nothing else in the test binary works).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// decodeBound is what decoding one frame payload of n bytes may allocate:
// a small multiple of what the peer sent plus a constant (the decoder's
// own state), never what the peer announces.
func decodeBound(n int) uint64 { return uint64(64*n + 64<<10) }

// decodeAny decodes payload as a forwarder's or a server's frame,
// whatever its op, and returns the error (nil if it decoded).
func decodeAny(payload []byte) error {
	dc := newDecoder(0)
	op, n, err := dc.frame(payload)
	if err != nil {
		return err
	}
	switch op {
	case opHello:
		_, err = dc.hello(n)
	case opAck:
		_, err = dc.ack(n)
	case opError:
		dc.errorFrame(n)
	case opRecord:
		var rec record
		err = dc.record(n, &rec)
	}
	return err
}

// Issue 9: lengths announced inside a frame are checked against what
// remains of it before anything is allocated. A 21-byte record whose
// attribute announces 4 GiB used to allocate 4 GiB.
func TestAnnouncedLengthsBounded(t *testing.T) {
	rec := []byte{0x96, 0xa3, 'r', 'e', 'c', 0xc0, 0, 0xa0, 0xa0, 0x91, 0x93, 0xa1, 'k', 0xa1}
	hello := []byte{0x92, 0xa5, 'h', 'e', 'l', 'l', 'o', 0x81}
	cases := []struct {
		name    string
		payload []byte
	}{
		{"value bin32", append(append([]byte{}, rec...), 'v', 0xc6, 0xff, 0xff, 0xff, 0xff, 'x')},
		{"value bin16", append(append([]byte{}, rec...), 'v', 0xc5, 0xff, 0xff, 'x')},
		{"value array32", append(append([]byte{}, rec...), 'v', 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0)},
		{"value map32", append(append([]byte{}, rec...), 'v', 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0)},
		{"value ext32 tuple", append(append([]byte{}, rec...), 'v', 0xc9, 0xff, 0xff, 0xff, 0xff, 1, 0xc0)},
		{"value tuple of a huge count", append(append([]byte{}, rec...), 'v', 0xd5, 1, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0)},
		{"value nested deep", append(append(append([]byte{}, rec...), 'v'), bytes.Repeat([]byte{0x91}, 5000)...)},
		{"string str32", append(append([]byte{}, rec...), 's', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x')},
		{"time ext32", append(append([]byte{}, rec...), 't', 0xc9, 0xff, 0xff, 0xff, 0xff, 0xff, 'x')},
		{"time str32", append(append([]byte{}, rec...), 't', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x')},
		{"message str32", []byte{0x96, 0xa3, 'r', 'e', 'c', 0xc0, 0, 0xa0, 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'}},
		{"record time ext32", []byte{0x96, 0xa3, 'r', 'e', 'c', 0xc9, 0xff, 0xff, 0xff, 0xff, 0xff, 'x'}},
		{"hello key str32", append(append([]byte{}, hello...), 0xdb, 0xff, 0xff, 0xff, 0xff, 'x')},
		{"hello value str32", append(append([]byte{}, hello...), 0xa1, 'k', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x')},
		{"hello value bin32", append(append([]byte{}, hello...), 0xa1, 'k', 0xc6, 0xff, 0xff, 0xff, 0xff, 'x')},
		{"hello nested bin32", append(append([]byte{}, hello...), 0xa1, 'k', 0x91, 0xc6, 0xff, 0xff, 0xff, 0xff, 'x')},
		{"hello ext32", append(append([]byte{}, hello...), 0xa1, 'k', 0xc9, 0xff, 0xff, 0xff, 0xff, 1, 'x')},
		{"error reason str32", []byte{0x92, 0xa5, 'e', 'r', 'r', 'o', 'r', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'}},
		{"op str32", []byte{0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'}},
		{"attrs array32", []byte{0x96, 0xa3, 'r', 'e', 'c', 0xc0, 0, 0xa0, 0xa0, 0xdd, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			start := time.Now()
			n := allocated(func() { err = decodeAny(c.payload) })
			if n > decodeBound(len(c.payload)) {
				t.Errorf("decoding %d bytes allocated %d bytes (bound %d)", len(c.payload), n, decodeBound(len(c.payload)))
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("decoding %d bytes took %v", len(c.payload), d)
			}
			if c.name != "error reason str32" && !errors.Is(err, ErrBadRecord) {
				t.Errorf("error %v, want one wrapping ErrBadRecord", err)
			}
		})
	}
}

// Issue 9: the decoded size of one record's values is bounded (16 ×
// MaxFrameSize on a server), per record: a small frame cannot make the
// server hold many times its size, and the bound does not add up across
// the records of a connection.
func TestDecodedSizeBoundedPerRecord(t *testing.T) {
	withList := func(n int) []byte {
		st := newEncState(0)
		st.recordHead(time.Time{}, 0, "", "m")
		st.e.B = append(st.e.B, 0x91)
		st.attr(slog.Any("k", make([]any, n)))
		return st.e.B
	}
	dc := newDecoder(4 << 10)
	for i := range 3 { // each alone fits
		op, n, err := dc.frame(withList(100))
		var rec record
		if err == nil && op == opRecord {
			err = dc.record(n, &rec)
		}
		if err != nil {
			t.Fatalf("record %d of 100 nils: %v", i, err)
		}
	}
	_, n, _ := dc.frame(withList(1000)) // 1 KiB sent, ≥ 16 KiB decoded
	var rec record
	if err := dc.record(n, &rec); !errors.Is(err, ErrBadRecord) || !errors.Is(err, pyon.ErrLimit) {
		t.Fatalf("a record of 1000 nils under a 4 KiB decoded bound: %v, want ErrBadRecord wrapping pyon.ErrLimit", err)
	}
}
