package pyon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// jsonClassKey marks a PYON-typed value: {"__jsonclass__": [name, args]}.
const jsonClassKey = "__jsonclass__"

// Decode parses one PYON v2 document (one SiPyCo protocol line; a trailing
// newline is fine) and returns its value as:
//
//	null → nil, true/false → bool,
//	integer → int64, or *big.Int beyond 64 bits,
//	float (Infinity, -Infinity, NaN included) → float64,
//	string → string, list → []any, object → map[string]any,
//	tuple → Tuple, set → Set, frozenset → Set{Frozen: true},
//	dict with a non-string key → Dict (string-keyed → map[string]any),
//	OrderedDict → OrderedDict, bytes → []byte, complex → complex128,
//	Fraction → *Fraction, slice → Slice, nparray → NDArray,
//	npscalar → NPScalar.
//
// Errors are *DecodeError wrapping ErrSyntax, ErrV1, ErrUnknownClass,
// ErrMalformed or ErrLimit (an integer of more than
// DefaultLimits.MaxIntDigits digits, a numpy array past the limits in
// NDArray.Validate), with a JSON Pointer to the offending value. Decoding
// allocates about 14–24 times the length of data (docs/protocol.md).
func Decode(data []byte) (any, error) { return DecodeWith(data, DecodeOptions{}) }

// DecodeOptions change how Decode reads PYON text. The zero value is
// Decode's behaviour.
type DecodeOptions struct {
	// Limits bound what is accepted; zero fields are DefaultLimits'.
	// MaxElements bounds the elements of a numpy array, MaxIntDigits the
	// digits of an integer (each part of a Fraction included), MaxDepth
	// the nesting of the decoded value and MaxDecodedSize its SizeOf
	// (both checked once the text is decoded).
	Limits Limits
	// KeepOrder decodes every JSON object (a Python dict with string keys)
	// as an OrderedDict in the order of the text, instead of a
	// map[string]any: what SiPyCo's Python peers send is a dict in
	// insertion order, which a Go map loses. {"__jsonclass__": …} objects
	// are decoded as always.
	KeepOrder bool
}

// DecodeWith is Decode with options.
func DecodeWith(data []byte, o DecodeOptions) (any, error) {
	d := textDecoder{lim: o.Limits.resolved(), ordered: o.KeepOrder}
	dec := json.NewDecoder(bytes.NewReader(rewriteNonFinite(data)))
	dec.UseNumber()
	var raw any
	var err error
	if d.ordered {
		raw, err = readOrdered(dec, 0)
	} else {
		err = dec.Decode(&raw)
	}
	if err != nil {
		return nil, syntaxError(data, err)
	}
	// Like Python's json.loads, refuse anything after the value.
	if _, err := dec.Token(); err != io.EOF {
		return nil, syntaxError(data, errors.New("extra data after the value"))
	}
	v, err := d.fromJSON(raw)
	if err != nil {
		path, err := splitPath(err)
		return nil, &DecodeError{Path: path, Err: err}
	}
	if err := checkTextLimits(v, d.lim); err != nil { // textlimits.go
		return nil, &DecodeError{Err: err}
	}
	return v, nil
}

// textDecoder turns what encoding/json produced into PYON values, within
// lim.
type textDecoder struct {
	lim     Limits
	ordered bool
}

// orderedObject is a JSON object as readOrdered reads it: its members in
// the order of the text.
type orderedObject []Item

// readOrdered reads one JSON value token by token, keeping the order of
// object members (encoding/json's maps do not). depth bounds nesting as
// encoding/json's own decoder does.
func readOrdered(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("exceeded max depth")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('['):
		l := []any{}
		for dec.More() {
			v, err := readOrdered(dec, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		_, err := dec.Token()
		return l, err
	case json.Delim('{'):
		o := orderedObject{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := readOrdered(dec, depth+1)
			if err != nil {
				return nil, err
			}
			o = append(o, Item{k.(string), v})
		}
		_, err := dec.Token()
		return o, err
	}
	return tok, nil
}

// DecodeString is Decode for a string.
func DecodeString(s string) (any, error) { return Decode([]byte(s)) }

func syntaxError(data []byte, err error) error {
	if IsV1(data) {
		return &DecodeError{Err: ErrV1}
	}
	if err == io.EOF {
		err = errors.New("empty document")
	}
	return &DecodeError{Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
}

// fromJSON turns what encoding/json produced (with UseNumber) into PYON
// values, bottom-up like Python's object_hook.
func (d *textDecoder) fromJSON(raw any) (any, error) {
	switch x := raw.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		return number(string(x), d.lim.MaxIntDigits)
	case []any:
		for i, e := range x {
			v, err := d.fromJSON(e)
			if err != nil {
				return nil, atIndex(err, i)
			}
			x[i] = v
		}
		return x, nil
	case map[string]any:
		if c, ok := x[jsonClassKey]; ok {
			return d.fromClassObject(x, c)
		}
		for k, e := range x {
			v, err := d.fromJSON(e)
			if err != nil {
				return nil, at(err, k)
			}
			x[k] = v
		}
		return x, nil
	case orderedObject:
		for _, it := range x {
			if it.Key == jsonClassKey {
				m := make(map[string]any, len(x))
				for _, it := range x {
					m[it.Key.(string)] = it.Value
				}
				return d.fromClassObject(m, it.Value)
			}
		}
		for i, it := range x {
			v, err := d.fromJSON(it.Value)
			if err != nil {
				return nil, at(err, it.Key.(string))
			}
			x[i].Value = v
		}
		return OrderedDict(x), nil
	}
	// encoding/json produces nothing else.
	return nil, malformed("unexpected %T from encoding/json", raw)
}

func (d *textDecoder) fromClassObject(obj map[string]any, c any) (any, error) {
	if len(obj) != 1 {
		// SiPyCo never writes other keys beside __jsonclass__ (it asserts
		// the key is absent from plain dicts); refuse rather than drop them.
		for k := range obj {
			if k != jsonClassKey {
				return nil, at(malformed("object with %q has another key %q", jsonClassKey, k), k)
			}
		}
	}
	pair, ok := c.([]any)
	if !ok || len(pair) != 2 {
		return nil, at(malformed("%s must be [name, [args...]], got %s", jsonClassKey, describe(c)), jsonClassKey)
	}
	name, ok := pair[0].(string)
	if !ok {
		return nil, at(at(malformed("class name must be a string, got %s", describe(pair[0])), "0"), jsonClassKey)
	}
	rawArgs, ok := pair[1].([]any)
	if !ok {
		return nil, at(at(malformed("%s arguments must be a list, got %s", name, describe(pair[1])), "1"), jsonClassKey)
	}
	dec, ok := classDecoders[name]
	if !ok {
		return nil, at(at(fmt.Errorf("%w %q", ErrUnknownClass, name), "0"), jsonClassKey)
	}
	args := make([]any, len(rawArgs))
	for i, a := range rawArgs {
		v, err := d.fromJSON(a)
		if err != nil {
			return nil, at(at(atIndex(err, i), "1"), jsonClassKey)
		}
		args[i] = v
	}
	v, err := dec(args)
	if a, ok := v.(NDArray); ok && err == nil {
		err = a.validate(d.lim.MaxElements)
	}
	if err != nil {
		// The class's own checks point at its argument list; those that
		// know better have already added an index inside it.
		return nil, at(at(err, "1"), jsonClassKey)
	}
	return v, nil
}

// number converts a JSON number's text the way Python's json does: no
// fraction or exponent → int (of any size), otherwise float, with
// overflowing literals becoming ±inf.
func number(s string, maxDigits int) (any, error) {
	if strings.ContainsAny(s, ".eE") {
		switch s {
		case sentinelPosInf:
			return math.Inf(1), nil
		case sentinelNegInf:
			return math.Inf(-1), nil
		case sentinelNaN:
			return math.NaN(), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, malformed("bad number %q", s)
		}
		return f, nil // on ErrRange f is ±Inf or 0, as Python gives
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	// Parsing decimal digits is quadratic in their number: bound them, as
	// Python's int() does.
	if digits := len(strings.TrimPrefix(s, "-")); digits > maxDigits {
		return nil, limitErr("integer of %d digits, more than %d", digits, maxDigits)
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, malformed("bad integer %q", s)
	}
	return b, nil
}
