package pyon

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func benchTree() any {
	rows := make([]any, 100)
	for i := range rows {
		rows[i] = map[string]any{"id": int64(i), "name": "channel", "gain": 1.5, "on": true, "t": []any{int64(i), 2.5}}
	}
	return map[string]any{"rows": rows, "meta": map[string]any{"n": int64(100)}}
}

func BenchmarkMsgpack(b *testing.B) {
	v := benchTree()
	enc, _ := AppendMsgpack(nil, v)
	b.Run("AppendMsgpack", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for range b.N {
			buf, _ = AppendMsgpack(buf[:0], v)
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for range b.N {
			var d MsgpackDecoder
			d.Decode(enc)
		}
	})
	b.Run("Read", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		r := bytes.NewReader(enc)
		md := msgpack.NewDecoder(r)
		for range b.N {
			r.Reset(enc)
			md.ResetReader(r)
			var d MsgpackDecoder
			d.Read(md)
		}
	})
	b.Run("msgpack.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for range b.N {
			var x any
			msgpack.Unmarshal(enc, &x)
		}
	})
}
