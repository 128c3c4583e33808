package syncstruct

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/sigoco/sigoco/pyon"
)

// jsonBuf builds the JSON messages for browsers: the framing (mods,
// control messages) here, the values with pyon's one PYON encoder, so
// values that JSON has no type for are written the way SiPyCo's PYON v2
// writes them, {"__jsonclass__": [name, args]}, and a browser can tell a
// tuple from a list. When w is set, the buffer is handed to w whenever it passes
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

// value writes a normalized tree with pyon's encoder, in strict JSON
// (NaN and infinities as null: a browser's JSON.parse has no tokens for
// them). depth is unused: Normalize has bounded the nesting.
func (j *jsonBuf) value(v any, depth int) error {
	if j.err != nil {
		return j.err
	}
	var err error
	if j.w != nil {
		if err := j.flush(); err != nil {
			return err
		}
		err = pyon.NewEncoder(j.w, browserJSON).Encode(v)
		if err != nil && !errors.As(err, new(*pyon.EncodeError)) {
			j.err = err // the writer failed
			return err
		}
	} else {
		j.b, err = pyon.AppendWith(j.b, v, browserJSON)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	return nil
}

var browserJSON = pyon.EncodeOptions{StrictJSON: true}

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
				if m.Key != nil {
					err = field("i", m.Key) // dict.pop(key), as SiPyCo writes it
				} else {
					err = field("i", int64(m.I))
				}
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
		if c.Token != "" {
			s("token", c.Token)
		}
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
