package syncstruct

import (
	"fmt"
	"io"
	"math/big"

	"github.com/sigoco/sigoco/pyon"
)

// encSiPyCo is SiPyCo's sync_struct wire format: each mod is one
// line of PYON v2 holding SiPyCo's mod dictionary and nothing else (no
// sequence number), e.g.
//
//	{"action":"setitem","path":["runs"],"key":"r1","value":{"step":0}}
//
// and the init mod is {"action":"init","struct":...} on one line. It is
// what a Publisher sends after the "ARTIQ sync_struct" banner.
var encSiPyCo modEncoding = sipycoEncoding{}

type sipycoEncoding struct{}

// AppendMod appends m as SiPyCo writes it: the fields in the order
// SiPyCo's Notifier builds its dictionaries, then a newline.
func (sipycoEncoding) AppendMod(dst []byte, m *Mod) ([]byte, error) {
	if err := m.validate(); err != nil {
		return dst, err
	}
	start := len(dst)
	b := append(dst, `{"action":`...)
	b, _ = pyon.Append(b, string(m.Action)) // a string always encodes
	var err error
	field := func(name string, v any) {
		if err != nil {
			return
		}
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b, err = pyon.Append(b, v)
	}
	if m.Action == ActInit {
		field("struct", m.Struct)
	} else {
		path := m.Path
		if path == nil {
			path = []any{}
		}
		field("path", path)
		switch m.Action {
		case ActAppend:
			field("x", m.X)
		case ActInsert:
			field("i", int64(m.I))
			field("x", m.X)
		case ActPop:
			if m.Key != nil {
				field("i", m.Key)
			} else {
				field("i", int64(m.I))
			}
		case ActSetItem:
			field("key", m.Key)
			field("value", m.Value)
		case ActDelItem:
			field("key", m.Key)
		}
	}
	if err != nil {
		return dst[:start], fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	return append(b, '}', '\n'), nil
}

// WriteInit writes {"action":"init","struct":tree} and a newline. seq is
// not written: SiPyCo's init has none. The tree is written as it is walked
// (dicts with string keys and lists here, everything else through
// pyon.Append), in pieces of about sipycoFlushAt bytes, so a large tree is
// never one large allocation.
func (sipycoEncoding) WriteInit(w io.Writer, tree any, seq uint64) error {
	s := pyonStream{w: w}
	s.b = append(s.b, `{"action":"init","struct":`...)
	if err := s.value(tree, 0); err != nil {
		return err
	}
	s.b = append(s.b, '}', '\n')
	return s.flush()
}

const sipycoFlushAt = 32 << 10

// pyonStream writes PYON text of a normalized tree to w.
type pyonStream struct {
	w   io.Writer
	b   []byte
	err error
}

func (s *pyonStream) flush() error {
	if s.err == nil && len(s.b) > 0 {
		_, s.err = s.w.Write(s.b)
		s.b = s.b[:0]
	}
	return s.err
}

func (s *pyonStream) value(v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrUnsupportedValue, maxDepth)
	}
	if len(s.b) >= sipycoFlushAt {
		if err := s.flush(); err != nil {
			return err
		}
	}
	switch x := v.(type) {
	case map[string]any:
		s.b = append(s.b, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				s.b = append(s.b, ',')
			}
			s.b, _ = pyon.Append(s.b, k)
			s.b = append(s.b, ':')
			if err := s.value(x[k], depth+1); err != nil {
				return err
			}
		}
		s.b = append(s.b, '}')
	case []any:
		s.b = append(s.b, '[')
		for i, e := range x {
			if i > 0 {
				s.b = append(s.b, ',')
			}
			if err := s.value(e, depth+1); err != nil {
				return err
			}
		}
		s.b = append(s.b, ']')
	default:
		var err error
		if s.b, err = pyon.Append(s.b, v); err != nil {
			return fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
		}
	}
	return nil
}

// decodeSiPyCoMod decodes one line SiPyCo's Publisher sent (newline
// optional) into a Mod in normal form. Seq is left 0.
func decodeSiPyCoMod(line []byte) (*Mod, error) {
	v, err := pyon.Decode(line)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: a SiPyCo mod is a dict with string keys, not a %s", ErrBadMessage, typeName(v))
	}
	a, ok := d["action"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: no \"action\" string", ErrBadMod)
	}
	m := &Mod{Action: internAction(a)}
	if err := m.validate(); err != nil {
		return nil, err
	}
	// field returns a field the action needs, in normal form.
	field := func(name string) (any, error) {
		v, ok := d[name]
		if !ok {
			return nil, fmt.Errorf("%w: %s mod lacks %q", ErrBadMod, m.Action, name)
		}
		v, err := adoptPYON(v, 1)
		if err != nil {
			return nil, fmt.Errorf("%w: field %q: %w", ErrBadMod, name, err)
		}
		return v, nil
	}
	index := func(required bool) error {
		v, ok := d["i"]
		if !ok {
			if required {
				return fmt.Errorf("%w: %s mod lacks \"i\"", ErrBadMod, m.Action)
			}
			m.I = -1
			return nil
		}
		i, ok := v.(int64)
		if !ok && m.Action == ActPop {
			// dict.pop(key): the key travels as "i".
			k, err := adoptPYON(v, 1)
			if err != nil {
				return fmt.Errorf("%w: field \"i\": %w", ErrBadMod, err)
			}
			if k == nil || !isKey(k) {
				return fmt.Errorf("%w: pop of a %s key is not supported", ErrBadMod, typeName(k))
			}
			m.Key = k
			return nil
		}
		if !ok || i < -1<<31 || i > 1<<31 {
			return fmt.Errorf("%w: index %v is not a small integer", ErrBadMod, truncate(fmt.Sprint(v), 32))
		}
		m.I = int(i)
		return nil
	}
	if m.Action == ActInit {
		m.Struct, err = field("struct")
		return m, err
	}
	p, err := field("path")
	if err != nil {
		return nil, err
	}
	path, ok := p.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: path is a %s, not a list", ErrBadMod, typeName(p))
	}
	for _, k := range path {
		if !isKey(k) {
			return nil, fmt.Errorf("%w: path element: %w: %s", ErrBadMod, ErrBadKey, typeName(k))
		}
	}
	m.Path = path
	switch m.Action {
	case ActAppend:
		m.X, err = field("x")
	case ActInsert:
		if err = index(true); err == nil {
			m.X, err = field("x")
		}
	case ActPop:
		err = index(false)
	case ActSetItem:
		if m.Key, err = field("key"); err == nil {
			m.Value, err = field("value")
		}
	case ActDelItem:
		m.Key, err = field("key")
	}
	if err != nil {
		return nil, err
	}
	if m.Action == ActSetItem || m.Action == ActDelItem {
		if !isIndexKey(m.Key) {
			return nil, fmt.Errorf("%w: %w: %s", ErrBadMod, ErrBadKey, typeName(m.Key))
		}
	}
	return m, nil
}

// adoptPYON turns a freshly decoded PYON value into normal form in place
// (Normalize would copy it all, which for a large init is a waste): it
// only converts the few values pyon.Decode gives in another form than the
// normal one (*pyon.Fraction, 64-bit unsigned *big.Int, a pyon.Dict with
// repeated keys).
func adoptPYON(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrUnsupportedValue, maxDepth)
	}
	switch x := v.(type) {
	case nil, bool, int64, float64, string, []byte, complex128, pyon.NDArray, pyon.NPScalar:
		return v, nil
	case *big.Int:
		return normBig(x), nil
	case *pyon.Fraction:
		return normalize(x, depth)
	case []any:
		for i, e := range x {
			n, err := adoptPYON(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case pyon.Tuple:
		l, err := adoptPYON([]any(x), depth)
		if err != nil {
			return nil, err
		}
		return pyon.Tuple(l.([]any)), nil
	case map[string]any:
		for k, e := range x {
			n, err := adoptPYON(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case pyon.Dict:
		items, err := adoptItems(x, depth)
		if err != nil {
			return nil, err
		}
		return dictOf(items), nil
	case pyon.OrderedDict:
		items, err := adoptItems(pyon.Dict(x), depth)
		if err != nil {
			return nil, err
		}
		return pyon.OrderedDict(items), nil
	case pyon.Set:
		for i, e := range x.Items {
			n, err := adoptPYON(e, depth+1)
			if err != nil {
				return nil, err
			}
			if !isKey(n) {
				return nil, fmt.Errorf("%w: set element of type %s", ErrBadKey, typeName(n))
			}
			x.Items[i] = n
		}
		return x, nil
	case pyon.Slice:
		return normalize(x, depth)
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedValue, v)
}

// adoptItems adopts a dict's keys and values; a repeated key keeps its
// last value, as in a Python dict (and as Normalize does).
func adoptItems(d pyon.Dict, depth int) (pyon.Dict, error) {
	out := d[:0]
	for _, it := range d {
		k, err := adoptPYON(it.Key, depth+1)
		if err != nil {
			return nil, err
		}
		if !isKey(k) {
			return nil, fmt.Errorf("%w: dict key of type %s", ErrBadKey, typeName(k))
		}
		v, err := adoptPYON(it.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if i := dictIndex(out, k); i >= 0 {
			out[i].Value = v
			continue
		}
		out = append(out, pyon.Item{Key: k, Value: v})
	}
	return out, nil
}
