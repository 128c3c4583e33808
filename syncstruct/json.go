package syncstruct

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strconv"

	"github.com/sigoco/sigoco/pyon"
)

// jsonBuf builds JSON text for browsers. Values that JSON has no type for
// are written the way SiPyCo's PYON v2 writes them,
// {"__jsonclass__": [name, args]}, so a browser can tell a tuple from a
// list. When w is set, the buffer is handed to w whenever it passes
// jsonFlushAt, so a large tree never sits in memory as one piece.
type jsonBuf struct {
	b   []byte
	w   io.Writer
	err error

	scratch bytes.Buffer
	enc     *json.Encoder // writes single strings into scratch, without HTML escaping
}

const jsonFlushAt = 32 << 10

func (j *jsonBuf) maybeFlush() {
	if j.w != nil && len(j.b) >= jsonFlushAt && j.err == nil {
		_, j.err = j.w.Write(j.b)
		j.b = j.b[:0]
	}
}

func (j *jsonBuf) flush() error {
	if j.w != nil && len(j.b) > 0 && j.err == nil {
		_, j.err = j.w.Write(j.b)
		j.b = j.b[:0]
	}
	return j.err
}

func (j *jsonBuf) str(s string) {
	if j.enc == nil {
		j.enc = json.NewEncoder(&j.scratch)
		j.enc.SetEscapeHTML(false) // "<f8" stays "<f8"
	}
	j.scratch.Reset()
	j.enc.Encode(s) // cannot fail for a string
	j.b = append(j.b, bytes.TrimSuffix(j.scratch.Bytes(), []byte("\n"))...)
}

func (j *jsonBuf) class(name string) {
	j.b = append(j.b, `{"__jsonclass__":[`...)
	j.str(name)
	j.b = append(j.b, ',')
}

func (j *jsonBuf) endClass() { j.b = append(j.b, "]}"...) }

func (j *jsonBuf) value(v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrUnsupportedValue, maxDepth)
	}
	if j.err != nil {
		return j.err
	}
	switch x := v.(type) {
	case nil:
		j.b = append(j.b, "null"...)
	case bool:
		j.b = strconv.AppendBool(j.b, x)
	case int64:
		j.b = strconv.AppendInt(j.b, x, 10)
	case uint64:
		j.b = strconv.AppendUint(j.b, x, 10)
	case *big.Int:
		j.b = x.Append(j.b, 10)
	case float64:
		j.float(x)
	case string:
		j.str(x)
	case []byte:
		j.class("bytes")
		j.b = append(j.b, '[')
		j.str(base64.StdEncoding.EncodeToString(x))
		j.b = append(j.b, ']')
		j.endClass()
	case complex128:
		j.class("complex")
		j.b = append(j.b, '[')
		j.float(real(x))
		j.b = append(j.b, ',')
		j.float(imag(x))
		j.b = append(j.b, ']')
		j.endClass()
	case []any:
		return j.list(x, depth)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		j.b = append(j.b, '{')
		for i, k := range keys {
			if i > 0 {
				j.b = append(j.b, ',')
			}
			j.str(k)
			j.b = append(j.b, ':')
			if err := j.value(x[k], depth+1); err != nil {
				return err
			}
			j.maybeFlush()
		}
		j.b = append(j.b, '}')
	case pyon.Dict:
		return j.items("dict", x, depth)
	case pyon.OrderedDict:
		return j.items("OrderedDict", pyon.Dict(x), depth)
	case pyon.Tuple:
		return j.wrapList("tuple", x, depth)
	case pyon.Set:
		name := "set"
		if x.Frozen {
			name = "frozenset"
		}
		return j.wrapList(name, x.Items, depth)
	case pyon.Fraction:
		j.class("Fraction")
		j.b = append(j.b, '[')
		j.b = x.Num().Append(j.b, 10)
		j.b = append(j.b, ',')
		j.b = x.Denom().Append(j.b, 10)
		j.b = append(j.b, ']')
		j.endClass()
	case pyon.Slice:
		j.class("slice")
		if err := j.list([]any{x.Start, x.Stop, x.Step}, depth); err != nil {
			return err
		}
		j.endClass()
	case pyon.NDArray:
		j.class("nparray")
		j.b = append(j.b, "[["...)
		for i, n := range x.Shape {
			if i > 0 {
				j.b = append(j.b, ',')
			}
			j.b = strconv.AppendInt(j.b, int64(n), 10)
		}
		j.b = append(j.b, "],"...)
		j.str(x.DType)
		j.b = append(j.b, ',')
		j.str(base64.StdEncoding.EncodeToString(x.Data))
		j.b = append(j.b, ']')
		j.endClass()
	case pyon.NPScalar:
		j.class("npscalar")
		j.b = append(j.b, '[')
		j.str(x.DType)
		j.b = append(j.b, ',')
		j.str(base64.StdEncoding.EncodeToString(x.Data))
		j.b = append(j.b, ']')
		j.endClass()
	default:
		return fmt.Errorf("%w: %T (normalize the tree first)", ErrUnsupportedValue, v)
	}
	return nil
}

// float writes x; JSON has no NaN or infinity, so those become null.
func (j *jsonBuf) float(x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		j.b = append(j.b, "null"...)
		return
	}
	b, _ := json.Marshal(x)
	j.b = append(j.b, b...)
	if x == math.Trunc(x) && math.Abs(x) < 1e21 {
		j.b = append(j.b, ".0"...) // keep 1.0 a float for the reader
	}
}

func (j *jsonBuf) list(l []any, depth int) error {
	j.b = append(j.b, '[')
	for i, e := range l {
		if i > 0 {
			j.b = append(j.b, ',')
		}
		if err := j.value(e, depth+1); err != nil {
			return err
		}
		j.maybeFlush()
	}
	j.b = append(j.b, ']')
	return nil
}

// wrapList writes {"__jsonclass__": [name, [[items...]]]}.
func (j *jsonBuf) wrapList(name string, l []any, depth int) error {
	j.class(name)
	j.b = append(j.b, '[')
	if err := j.list(l, depth); err != nil {
		return err
	}
	j.b = append(j.b, ']')
	j.endClass()
	return nil
}

// items writes {"__jsonclass__": [name, [[[key, value], ...]]]}.
func (j *jsonBuf) items(name string, d pyon.Dict, depth int) error {
	j.class(name)
	j.b = append(j.b, "[["...)
	for i, it := range d {
		if i > 0 {
			j.b = append(j.b, ',')
		}
		j.b = append(j.b, '[')
		if err := j.value(it.Key, depth+1); err != nil {
			return err
		}
		j.b = append(j.b, ',')
		if err := j.value(it.Value, depth+1); err != nil {
			return err
		}
		j.b = append(j.b, ']')
		j.maybeFlush()
	}
	j.b = append(j.b, "]]"...)
	j.endClass()
	return nil
}

// mod writes m as a JSON object with SiPyCo's field names plus "seq".
func (j *jsonBuf) mod(m *Mod) error {
	if err := m.validate(); err != nil {
		return err
	}
	j.b = append(j.b, `{"action":`...)
	j.str(string(m.Action))
	field := func(name string, v any) error {
		j.b = append(j.b, ',')
		j.str(name)
		j.b = append(j.b, ':')
		return j.value(v, 1)
	}
	var err error
	if m.Action == ActInit {
		err = field("struct", m.Struct)
	} else {
		path := m.Path
		if path == nil {
			path = []any{}
		}
		err = field("path", path)
		if err == nil {
			switch m.Action {
			case ActAppend:
				err = field("x", m.X)
			case ActInsert:
				if err = field("i", int64(m.I)); err == nil {
					err = field("x", m.X)
				}
			case ActPop:
				err = field("i", int64(m.I))
			case ActSetItem:
				if err = field("key", m.Key); err == nil {
					err = field("value", m.Value)
				}
			case ActDelItem:
				err = field("key", m.Key)
			}
		}
	}
	if err != nil {
		return err
	}
	j.b = append(j.b, `,"seq":`...)
	j.b = strconv.AppendUint(j.b, m.Seq, 10)
	j.b = append(j.b, '}')
	return nil
}

// control writes c as a JSON object.
func (j *jsonBuf) control(c *control) {
	j.b = append(j.b, `{"t":`...)
	j.str(c.T)
	s := func(k, v string) {
		j.b = append(j.b, ',')
		j.str(k)
		j.b = append(j.b, ':')
		j.str(v)
	}
	u := func(k string, v uint64) {
		j.b = append(j.b, ',')
		j.str(k)
		j.b = append(j.b, ':')
		j.b = strconv.AppendUint(j.b, v, 10)
	}
	switch c.T {
	case msgSubscribe:
		s("notifier", c.Notifier)
		u("epoch", c.Epoch)
		u("seq", c.Seq)
	case msgSync:
		u("epoch", c.Epoch) // below 2^53, exact in JavaScript
		u("seq", c.Seq)
		s("mode", c.Mode)
		s("reason", c.Reason)
		u("heartbeat_ms", uint64(c.HeartbeatMS))
	case msgSynced:
		u("seq", c.Seq)
	case msgError:
		s("code", c.Code)
		s("message", c.Message)
	}
	j.b = append(j.b, '}')
}
