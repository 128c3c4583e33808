package pyon

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Encode returns the PYON v2 text of v on one line, without a newline, as
// SiPyCo's pyon.encode does: JSON plus {"__jsonclass__": [name, args]} for
// the types JSON lacks, floats written as Python writes them (1.0, 1e+300,
// Infinity, NaN) so Python reads back a float, not an int.
//
// Accepted Go values: the types Decode returns; any bool, integer, float,
// complex and string kind; *big.Int, *big.Rat (a Fraction); []byte and
// [N]byte (bytes); other slices and arrays (lists; nil slices as []);
// maps (objects when keys are strings, sorted; otherwise a dict); structs
// (objects keyed by the struct-key rule, fields in order); pointers and
// interfaces to those (nil is None); encoding.TextMarshaler values and
// errors (strings: the text, the message). Go values reach the text
// through Normalize's walker, so a Go struct, slice or map holding a value
// whose methods define its form (time.Time, an error) is refused, as on
// the native wire.
// In a dict key or set item, where Python needs a hashable value, Go arrays
// become tuples and lists, dicts and sets are refused.
//
// Errors are *EncodeError wrapping ErrUnsupported, ErrMalformed (an invalid
// NDArray or NPScalar), ErrTooDeep, or ErrLimit (an integer of more than
// DefaultLimits.MaxIntDigits digits, which Python's int() would refuse to
// parse and its str() to write).
func Encode(v any) ([]byte, error) { return Append(nil, v) }

// Append appends the encoding of v to dst, for callers that reuse buffers.
// On error dst is returned unchanged.
func Append(dst []byte, v any) ([]byte, error) {
	e := encoder{buf: dst}
	if err := e.value(v); err != nil {
		path, err := splitPath(err)
		return dst, &EncodeError{Path: path, Err: err}
	}
	return e.buf, nil
}

type encoder struct {
	buf   []byte
	depth int
	key   bool // inside a dict key or set item: Python needs it hashable

	strict bool      // EncodeOptions.StrictJSON
	w      io.Writer // when set, buf is written to w whenever it passes flushAt
	werr   error     // the first error writing to w
}

// flushAt is how much an Encoder buffers before writing to its writer.
const flushAt = 32 << 10

// maybeFlush hands the buffer to w once it is large, so a large value is
// never held in memory as one piece.
func (e *encoder) maybeFlush() error {
	if e.w == nil || len(e.buf) < flushAt {
		return nil
	}
	if e.werr == nil {
		_, e.werr = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
	return e.werr
}

// float writes f as Python does, or, in strict JSON, NaN and ±Inf as null.
func (e *encoder) float(f float64, bits int) {
	if e.strict && (math.IsNaN(f) || math.IsInf(f, 0)) {
		e.buf = append(e.buf, "null"...)
		return
	}
	e.buf = appendPyFloat(e.buf, f, bits)
}

var (
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	bigIntType        = reflect.TypeFor[big.Int]()
	bigRatType        = reflect.TypeFor[big.Rat]()
	errorType         = reflect.TypeFor[error]()
)

func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case float64:
		e.float(x, 64)
	case float32:
		e.float(float64(x), 32)
	case string:
		e.string(x)
	case []byte:
		e.bytes(x)
	case complex128:
		e.complex(x, 64)
	case complex64:
		e.complex(complex128(x), 32)
	case *big.Int:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		start := len(e.buf)
		e.buf = x.Append(e.buf, 10)
		digits := len(e.buf) - start
		if x.Sign() < 0 {
			digits--
		}
		if digits > DefaultLimits.MaxIntDigits {
			// Python's int → str refuses as much (ValueError), and no
			// decoder, SiPyCo's or Decode, would read it back.
			e.buf = e.buf[:start]
			return limitErr("integer of %d digits, more than %d", digits, DefaultLimits.MaxIntDigits)
		}
	case *big.Rat:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.fraction(x)
	case *Fraction:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.fraction(&x.Rat)
	case Fraction:
		e.fraction(&x.Rat)
	case []any:
		return e.list(x)
	case Tuple:
		return e.tuple(x)
	case map[string]any:
		return e.stringMap(x)
	case Set:
		return e.set(x)
	case Dict:
		return e.dict("dict", x)
	case OrderedDict:
		return e.dict("OrderedDict", x)
	case Slice:
		return e.slice(x)
	case NDArray:
		return e.ndarray(x)
	case *NDArray:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.ndarray(*x)
	case NPScalar:
		return e.npscalar(x)
	default:
		return e.reflect(v)
	}
	return nil
}

func (e *encoder) enter() error {
	e.depth++
	if e.depth > maxDepth {
		return fmt.Errorf("%w (over %d levels; a pointer cycle?)", ErrTooDeep, maxDepth)
	}
	return nil
}

func (e *encoder) leave() { e.depth-- }

func (e *encoder) unhashable(what string) error {
	return unsupported("a %s cannot be a dict key or set item (Python needs a hashable value)", what)
}

// classStart writes {"__jsonclass__":["name",[  — closed by classEnd.
func (e *encoder) classStart(name string) {
	e.buf = append(e.buf, `{"__jsonclass__":["`...)
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, `",[`...)
}

func (e *encoder) classEnd() { e.buf = append(e.buf, "]]}"...) }

// inClass points an error at argument arg of a __jsonclass__ object.
func inClass(err error, arg int) error {
	return at(at(atIndex(err, arg), "1"), jsonClassKey)
}

// string writes s as a JSON string. Plain ASCII is copied; anything else
// goes through encoding/json, which also replaces invalid UTF-8.
func (e *encoder) string(s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			b, _ := json.Marshal(s) // cannot fail for a string
			e.buf = append(e.buf, b...)
			return
		}
	}
	e.buf = append(e.buf, '"')
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, '"')
}

func (e *encoder) bytes(b []byte) {
	e.classStart("bytes")
	e.buf = append(e.buf, '"')
	e.buf = base64.StdEncoding.AppendEncode(e.buf, b)
	e.buf = append(e.buf, '"')
	e.classEnd()
}

func (e *encoder) complex(c complex128, bits int) {
	e.classStart("complex")
	e.float(real(c), bits)
	e.buf = append(e.buf, ',')
	e.float(imag(c), bits)
	e.classEnd()
}

func (e *encoder) fraction(r *big.Rat) {
	e.classStart("Fraction")
	e.buf = r.Num().Append(e.buf, 10)
	e.buf = append(e.buf, ',')
	e.buf = r.Denom().Append(e.buf, 10)
	e.classEnd()
}

func (e *encoder) list(l []any) error {
	if e.key {
		return e.unhashable("list")
	}
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, '[')
	for i, x := range l {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(x); err != nil {
			return atIndex(err, i)
		}
		if err := e.maybeFlush(); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	e.leave()
	return nil
}

func (e *encoder) tuple(t Tuple) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.classStart("tuple")
	e.buf = append(e.buf, '[')
	for i, x := range t {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(x); err != nil {
			return inClass(atIndex(err, i), 0)
		}
	}
	e.buf = append(e.buf, ']')
	e.classEnd()
	e.leave()
	return nil
}

// set writes a Set. A frozen one is written as "set" too, because SiPyCo
// registers no frozenset class and would refuse it — except where Python
// needs a hashable value (a dict key, a set item), where a set would be
// refused anyway: there it is "frozenset", which sigoco reads back. In
// strict JSON (for browsers, not SiPyCo) it is always "frozenset".
func (e *encoder) set(s Set) error {
	class := "set"
	if s.Frozen && e.strict {
		class = "frozenset"
	}
	if e.key {
		if !s.Frozen {
			return e.unhashable("set")
		}
		class = "frozenset"
	}
	if err := e.enter(); err != nil {
		return err
	}
	e.classStart(class)
	e.buf = append(e.buf, '[')
	outer := e.key
	e.key = true
	for i, x := range s.Items {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(x); err != nil {
			return inClass(atIndex(err, i), 0)
		}
	}
	e.key = outer
	e.buf = append(e.buf, ']')
	e.classEnd()
	e.leave()
	return nil
}

func (e *encoder) objectKey(k string) {
	e.string(k)
	e.buf = append(e.buf, ':')
}

func (e *encoder) stringMap(m map[string]any) error {
	if e.key {
		return e.unhashable("dict")
	}
	if err := e.enter(); err != nil {
		return err
	}
	var small [16]string // most maps: their keys sorted without an allocation
	keys := small[:0]
	for k := range m {
		if k == jsonClassKey {
			return at(unsupported("a dict may not have the key %q", jsonClassKey), k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys) // Go maps have no order; sorted is reproducible
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.objectKey(k)
		if err := e.value(m[k]); err != nil {
			return at(err, k)
		}
		if err := e.maybeFlush(); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	e.leave()
	return nil
}

// dict writes a Dict or OrderedDict in order. A Dict whose keys are all
// strings is a plain JSON object, as SiPyCo writes it.
func (e *encoder) dict(class string, items []Item) error {
	if e.key {
		return e.unhashable(class)
	}
	if err := e.enter(); err != nil {
		return err
	}
	if class == "dict" && allStringKeys(items) {
		e.buf = append(e.buf, '{')
		for i, it := range items {
			k := it.Key.(string)
			if k == jsonClassKey {
				return at(unsupported("a dict may not have the key %q", jsonClassKey), k)
			}
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.objectKey(k)
			if err := e.value(it.Value); err != nil {
				return at(err, k)
			}
		}
		e.buf = append(e.buf, '}')
		e.leave()
		return nil
	}
	e.classStart(class)
	e.buf = append(e.buf, '[')
	for i, it := range items {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, '[')
		e.key = true // dict is refused in key position, so it was false
		err := e.value(it.Key)
		e.key = false
		if err != nil {
			return inClass(atIndex(atIndex(err, 0), i), 0)
		}
		e.buf = append(e.buf, ',')
		if err := e.value(it.Value); err != nil {
			return inClass(atIndex(atIndex(err, 1), i), 0)
		}
		e.buf = append(e.buf, ']')
		if err := e.maybeFlush(); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	e.classEnd()
	e.leave()
	return nil
}

func allStringKeys(items []Item) bool {
	for _, it := range items {
		if _, ok := it.Key.(string); !ok {
			return false
		}
	}
	return true
}

func (e *encoder) slice(s Slice) error {
	e.classStart("slice")
	for i, x := range []any{s.Start, s.Stop, s.Step} {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(x); err != nil {
			return inClass(err, i)
		}
	}
	e.classEnd()
	return nil
}

func (e *encoder) ndarray(a NDArray) error {
	if e.key {
		return e.unhashable("numpy array")
	}
	if err := a.wellFormed(); err != nil {
		return err
	}
	e.classStart("nparray")
	e.buf = append(e.buf, '[')
	for i, d := range a.Shape {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = strconv.AppendInt(e.buf, int64(d), 10)
	}
	e.buf = append(e.buf, "],"...)
	e.string(a.DType)
	e.buf = append(e.buf, ",\""...)
	e.buf = base64.StdEncoding.AppendEncode(e.buf, a.Data)
	e.buf = append(e.buf, '"')
	e.classEnd()
	return nil
}

func (e *encoder) npscalar(s NPScalar) error {
	if err := s.Validate(); err != nil {
		return err
	}
	e.classStart("npscalar")
	e.string(s.DType)
	e.buf = append(e.buf, ",\""...)
	e.buf = base64.StdEncoding.AppendEncode(e.buf, s.Data)
	e.buf = append(e.buf, '"')
	e.classEnd()
	return nil
}

// appendPyFloat writes f as Python's repr does, so Python reads a float:
// shortest round-trip digits, fixed notation for exponents -4..15 with a
// ".0" if integral, else d.ddde±XX; bare Infinity, -Infinity, NaN as
// Python's json writes them. bits 32 gives float32's shortest digits.
func appendPyFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, bits)
	i := bytes.IndexByte(s, 'e')
	exp, _ := strconv.Atoi(string(s[i+1:]))
	if exp < -4 || exp >= 16 {
		return append(b, s...) // Go's 'e' already writes at least two exponent digits
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, bits)
	if bytes.IndexByte(b[start:], '.') < 0 {
		b = append(b, ".0"...)
	}
	return b
}
