package logfwd

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
)

// encodeRecord is the forwarder's encoding of rec, as one frame payload.
func encodeRecord(rec *record) []byte {
	st := newEncState(0)
	st.recordHead(rec.Time, rec.Level, rec.Logger, rec.Message)
	at := st.beginArray32()
	n := 0
	for _, a := range rec.Attrs {
		n += st.attr(a)
	}
	st.endArray(at, n)
	return st.e.B
}

func FuzzDecodeRecord(f *testing.F) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, rec := range []record{
		{},
		{Time: when, Level: slog.LevelWarn, Logger: "lda.driver", Message: "attenuation set\nsecond line"},
		{Message: "all kinds", Attrs: []slog.Attr{
			slog.String("s", "x"), slog.Int("i", -1), slog.Uint64("u", 1<<64-1), slog.Float64("f", 0.5),
			slog.Bool("b", true), slog.Duration("d", time.Second), slog.Time("t", when), slog.Time("z", time.Time{}),
			slog.Any("j", map[string]any{"a": []int{1, 2}}), slog.Any("v", pyon.Tuple{int64(1), "x"}), slog.Group("g", slog.Group("h", slog.Int("x", 1))),
		}},
	} {
		f.Add(encodeRecord(&rec))
	}
	st := newEncState(0)
	st.helloFrame("source", "x", "max_frame", 10)
	f.Add(st.e.B[4:])
	f.Add([]byte{0x96, 0xa3, 'r', 'e', 'c', 0xc0, 0, 0xa0, 0xa0, 0xdd, 0xff, 0xff, 0xff, 0xff}) // huge count, no data
	// Issue 9: lengths announced beyond the frame (bin32, str32, ext32).
	rec := []byte{0x96, 0xa3, 'r', 'e', 'c', 0xc0, 0, 0xa0, 0xa0, 0x91, 0x93, 0xa1, 'k', 0xa1}
	f.Add(append(append([]byte{}, rec...), 'v', 0xc6, 0xff, 0xff, 0xff, 0xff, 'x'))
	f.Add(append(append([]byte{}, rec...), 'v', 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0))
	f.Add(append(append([]byte{}, rec...), 's', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'))
	f.Add(append(append([]byte{}, rec...), 't', 0xc9, 0xff, 0xff, 0xff, 0xff, 0xff, 'x'))
	f.Fuzz(func(t *testing.T, payload []byte) {
		// Bounds, not only "no panic": what one decode allocates is a
		// small multiple of the input, and it takes little time.
		var err error
		start := time.Now()
		if n := allocated(func() { err = decodeAny(payload) }); n > decodeBound(len(payload)) {
			t.Fatalf("decoding %d bytes allocated %d (bound %d)", len(payload), n, decodeBound(len(payload)))
		}
		if d := time.Since(start); d > time.Second+time.Duration(len(payload))*time.Microsecond {
			t.Fatalf("decoding %d bytes took %v", len(payload), d)
		}
		_ = err
		dc := newDecoder(0)
		op, n, err := dc.frame(payload)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			return
		}
		switch op {
		case opHello:
			dc.hello(n)
			return
		case opAck:
			dc.ack(n)
			return
		case opRecord:
		default:
			return
		}
		var rec record
		if err := dc.record(n, &rec); err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			return
		}
		// What decodes must survive our own encoding unchanged.
		var again record
		op, n, err = dc.frame(encodeRecord(&rec))
		if err != nil || op != opRecord {
			t.Fatalf("re-encoded frame: %q %v", op, err)
		}
		if err := dc.record(n, &again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !again.Time.Equal(rec.Time) || again.Level != rec.Level || again.Logger != rec.Logger ||
			again.Message != rec.Message || flat(again.toSlog()) != flat(rec.toSlog()) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", rec, again)
		}
	})
}
