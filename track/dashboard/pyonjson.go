package dashboard

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/syncstruct"
)

// PYON JSON: the JSON form of the value model that the browser replica
// reads (syncstruct's WebSocket JSON): null, booleans, numbers, strings,
// arrays, objects, and {"__jsonclass__": [name, args]} for the PYON types
// JSON lacks. It is written here for call results and read for call
// arguments. (syncstruct keeps its own writer unexported; when it exports
// one, this file shrinks to a call of it.)

// maxDepth bounds the nesting of values read and written.
const maxDepth = 200

// decodeValue reads one PYON JSON value: an integer literal becomes an
// int64 (or *big.Int), any other number a float64.
func decodeValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return fromJSON(v, 0)
}

func fromJSON(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxDepth)
	}
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		return number(string(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = fromJSON(e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		if jc, ok := x["__jsonclass__"]; ok && len(x) == 1 {
			return fromClass(jc, depth)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			var err error
			if out[k], err = fromJSON(e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected JSON value %T", v)
}

func number(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if isIntLiteral(s) {
		if b, ok := new(big.Int).SetString(s, 10); ok {
			return b, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s: %v", truncate(s, 32), err)
	}
	return f, nil
}

func isIntLiteral(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if s == "" || len(s) > 4300 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

var errClass = errors.New(`"__jsonclass__" must be [name, [args...]]`)

func fromClass(jc any, depth int) (any, error) {
	l, ok := jc.([]any)
	if !ok || len(l) < 1 || len(l) > 2 {
		return nil, errClass
	}
	name, ok := l[0].(string)
	if !ok {
		return nil, errClass
	}
	var args []any
	if len(l) == 2 {
		if args, ok = l[1].([]any); !ok {
			return nil, errClass
		}
	}
	arg := func(i int) (any, error) {
		if i >= len(args) {
			return nil, fmt.Errorf("%s: missing argument %d", name, i)
		}
		return fromJSON(args[i], depth+1)
	}
	list := func() ([]any, error) {
		v, err := arg(0)
		if err != nil {
			return nil, err
		}
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: argument is not a list", name)
		}
		return items, nil
	}
	str := func(i int) (string, error) {
		v, err := arg(i)
		s, ok := v.(string)
		if err == nil && !ok {
			err = fmt.Errorf("%s: argument %d is not a string", name, i)
		}
		return s, err
	}
	fl := func(v any) (float64, bool) {
		switch x := v.(type) {
		case float64:
			return x, true
		case int64:
			return float64(x), true
		case nil:
			return math.NaN(), true
		}
		return 0, false
	}
	switch name {
	case "tuple":
		items, err := list()
		return pyon.Tuple(items), err
	case "set", "frozenset":
		items, err := list()
		return pyon.Set{Items: items, Frozen: name == "frozenset"}, err
	case "dict", "OrderedDict":
		items, err := list()
		if err != nil {
			return nil, err
		}
		d := make(pyon.Dict, 0, len(items))
		for _, it := range items {
			kv, ok := it.([]any)
			if !ok || len(kv) != 2 {
				return nil, fmt.Errorf("%s: an item is not [key, value]", name)
			}
			d = append(d, pyon.Item{Key: kv[0], Value: kv[1]})
		}
		if name == "OrderedDict" {
			return pyon.OrderedDict(d), nil
		}
		return d, nil
	case "bytes":
		s, err := str(0)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(s)
	case "complex":
		re, err1 := arg(0)
		im, err2 := arg(1)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		r, ok1 := fl(re)
		i, ok2 := fl(im)
		if !ok1 || !ok2 {
			return nil, errors.New("complex: arguments are not numbers")
		}
		return complex(r, i), nil
	case "Fraction":
		n, err1 := arg(0)
		d, err2 := arg(1)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		ni, ok1 := n.(int64)
		di, ok2 := d.(int64)
		if !ok1 || !ok2 || di == 0 {
			return nil, errors.New("Fraction: arguments are not integers (denominator not 0)")
		}
		return pyon.NewFraction(ni, di), nil
	}
	return nil, fmt.Errorf("__jsonclass__ %q is not accepted in a call", truncate(name, 32))
}

// appendValue writes v as PYON JSON. Times become Unix seconds (float);
// NaN and infinities null (JSON has none); structs and other Go values are
// normalized first (syncstruct.Normalize: msgpack-tagged fields).
func appendValue(b *bytes.Buffer, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("dashboard: result nested deeper than %d", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case *big.Int:
		if x == nil {
			b.WriteString("null")
		} else {
			b.WriteString(x.String())
		}
	case float64:
		writeFloat(b, x)
	case float32:
		writeFloat(b, float64(x))
	case string:
		writeString(b, x)
	case []byte:
		b.WriteString(`{"__jsonclass__":["bytes",[`)
		writeString(b, base64.StdEncoding.EncodeToString(x))
		b.WriteString("]]}")
	case complex128:
		b.WriteString(`{"__jsonclass__":["complex",[`)
		writeFloat(b, real(x))
		b.WriteByte(',')
		writeFloat(b, imag(x))
		b.WriteString("]]}")
	case time.Time:
		if x.IsZero() {
			b.WriteString("null")
		} else {
			writeFloat(b, float64(x.UnixNano())/1e9)
		}
	case []any:
		return writeList(b, x, depth)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := appendValue(b, x[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case pyon.Tuple:
		return writeClassList(b, "tuple", x, depth)
	case pyon.Set:
		name := "set"
		if x.Frozen {
			name = "frozenset"
		}
		return writeClassList(b, name, x.Items, depth)
	case pyon.Dict:
		return writeItems(b, "dict", x, depth)
	case pyon.OrderedDict:
		return writeItems(b, "OrderedDict", pyon.Dict(x), depth)
	case *pyon.Fraction:
		b.WriteString(`{"__jsonclass__":["Fraction",[` + x.Num().String() + "," + x.Denom().String() + "]]}")
	case pyon.Fraction:
		b.WriteString(`{"__jsonclass__":["Fraction",[` + x.Num().String() + "," + x.Denom().String() + "]]}")
	case pyon.Slice:
		b.WriteString(`{"__jsonclass__":["slice",`)
		if err := writeList(b, []any{x.Start, x.Stop, x.Step}, depth); err != nil {
			return err
		}
		b.WriteString("]}")
	case pyon.NDArray:
		b.WriteString(`{"__jsonclass__":["nparray",[[`)
		for i, n := range x.Shape {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(int(n)))
		}
		b.WriteString("],")
		writeString(b, x.DType)
		b.WriteByte(',')
		writeString(b, base64.StdEncoding.EncodeToString(x.Data))
		b.WriteString("]]}")
	case pyon.NPScalar:
		b.WriteString(`{"__jsonclass__":["npscalar",[`)
		writeString(b, x.DType)
		b.WriteByte(',')
		writeString(b, base64.StdEncoding.EncodeToString(x.Data))
		b.WriteString("]]}")
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				b.WriteString("null")
				return nil
			}
			return appendValue(b, rv.Elem().Interface(), depth)
		}
		n, err := syncstruct.Normalize(v)
		if err != nil {
			return fmt.Errorf("dashboard: result: %w", err)
		}
		if reflect.TypeOf(n) == reflect.TypeOf(v) {
			return fmt.Errorf("dashboard: result of type %T has no JSON form", v)
		}
		return appendValue(b, n, depth)
	}
	return nil
}

func writeFloat(b *bytes.Buffer, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b.WriteString("null")
		return
	}
	format := byte('f') // as encoding/json: exponents only for the very small and large
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'g'
	}
	s := strconv.FormatFloat(f, format, -1, 64)
	b.WriteString(s)
	if f == math.Trunc(f) && !bytes.ContainsAny([]byte(s), ".e") {
		b.WriteString(".0") // keep 1.0 a float for the reader
	}
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}

func writeList(b *bytes.Buffer, l []any, depth int) error {
	b.WriteByte('[')
	for i, e := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := appendValue(b, e, depth+1); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

func writeClassList(b *bytes.Buffer, name string, l []any, depth int) error {
	b.WriteString(`{"__jsonclass__":["` + name + `",[`)
	if err := writeList(b, l, depth); err != nil {
		return err
	}
	b.WriteString("]]}")
	return nil
}

func writeItems(b *bytes.Buffer, name string, d pyon.Dict, depth int) error {
	b.WriteString(`{"__jsonclass__":["` + name + `",[[`)
	for i, it := range d {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		if err := appendValue(b, it.Key, depth+1); err != nil {
			return err
		}
		b.WriteByte(',')
		if err := appendValue(b, it.Value, depth+1); err != nil {
			return err
		}
		b.WriteByte(']')
	}
	b.WriteString("]]]}")
	return nil
}
