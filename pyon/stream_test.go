package pyon

import (
	"bytes"
	"math"
	"testing"
)

// countingWriter records the size of each write.
type countingWriter struct {
	bytes.Buffer
	writes []int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, len(p))
	return w.Buffer.Write(p)
}

func TestEncoderStreams(t *testing.T) {
	l := make([]any, 20000)
	for i := range l {
		l[i] = map[string]any{"i": int64(i), "x": math.NaN(), "s": Set{Items: []any{int64(1)}, Frozen: true}}
	}
	want, err := AppendWith(nil, l, EncodeOptions{StrictJSON: true})
	if err != nil {
		t.Fatal(err)
	}
	var w countingWriter
	if err := NewEncoder(&w, EncodeOptions{StrictJSON: true}).Encode(l); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatal("streamed text differs from AppendWith's")
	}
	if len(w.writes) < 2 {
		t.Fatalf("%d bytes in %d writes", w.Len(), len(w.writes))
	}
	for _, n := range w.writes {
		if n > 2*flushAt {
			t.Errorf("a write of %d bytes", n)
		}
	}
	if !bytes.Contains(want, []byte(`"x":null`)) || !bytes.Contains(want, []byte(`"frozenset"`)) {
		t.Errorf("strict JSON: %.200s", want)
	}
	py, _ := Encode(l[:1])
	if !bytes.Contains(py, []byte(`NaN`)) || bytes.Contains(py, []byte(`"frozenset"`)) {
		t.Errorf("PYON: %s", py)
	}
}
