package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"math/big"

	"github.com/sigoco/sigoco/pyon"
)

const jsonHelp = `JSON OUTPUT (--json, -o json):
   One JSON document on stdout per result (interactive mode: one per line).
   None -> null; bool, int, float -> JSON booleans and numbers (ints keep all
   their digits); inf, -inf, nan -> the strings "inf", "-inf", "nan";
   str -> string; list, tuple, set, frozenset -> array; dict with string
   keys -> object; any other dict -> array of [key, value] pairs;
   bytes -> base64 string; complex -> {"real": R, "imag": I};
   Fraction -> "num/den"; slice -> {"start", "stop", "step"};
   numpy array -> nested arrays; numpy scalar -> its value.
   Errors go to stderr as {"error": {"kind", "exit_code", "message",
   "type", "traceback"}}; kind is remote, usage, connection, unknown,
   timeout or interrupted.`

// toJSON turns a result into values encoding/json writes as documented in
// jsonHelp.
func toJSON(v any, depth int) any {
	if depth > maxFormatDepth {
		return nil
	}
	d := depth + 1
	switch v := v.(type) {
	case nil, bool, string, int64, uint64, *big.Int:
		return v
	case float64:
		return jsonFloat(v)
	case float32:
		return jsonFloat(float64(v))
	case complex128:
		return jsonObject{{"real", jsonFloat(real(v))}, {"imag", jsonFloat(imag(v))}}
	case complex64:
		return toJSON(complex128(v), depth)
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case []any:
		return jsonAll(v, d)
	case pyon.Tuple:
		return jsonAll(v, d)
	case pyon.Set:
		return jsonAll(v.Items, d)
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = toJSON(x, d)
		}
		return m
	case pyon.Dict:
		return jsonItems(v, d)
	case pyon.OrderedDict:
		return jsonItems(v, d)
	case pyon.Fraction:
		return v.Num().String() + "/" + v.Denom().String()
	case *pyon.Fraction:
		if v == nil {
			return nil
		}
		return toJSON(*v, depth)
	case pyon.Slice:
		return jsonObject{{"start", toJSON(v.Start, d)}, {"stop", toJSON(v.Stop, d)}, {"step", toJSON(v.Step, d)}}
	case pyon.NDArray:
		if l, err := v.ToList(); err == nil {
			return toJSON(l, d)
		}
		return jsonObject{{"shape", v.Shape}, {"dtype", v.DType}, {"data", base64.StdEncoding.EncodeToString(v.Data)}}
	case pyon.NPScalar:
		if x, err := v.Value(); err == nil {
			return toJSON(x, d)
		}
		return jsonObject{{"dtype", v.DType}, {"data", base64.StdEncoding.EncodeToString(v.Data)}}
	case error:
		return v.Error()
	}
	// Any other Go value: first in the value model, by pyon's one walker
	// (structs keyed by its struct-key rule), as a peer receives it.
	n, err := pyon.Normalize(v)
	if err != nil {
		return pyon.Repr(v)
	}
	return toJSON(n, depth)
}

// jsonFloat is f, or Python's name of a float JSON lacks (nan, inf, -inf).
func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return pyon.PyFloat(f)
	}
	return f
}

func jsonAll(vs []any, depth int) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = toJSON(v, depth)
	}
	return out
}

// jsonItems is an object when every key is a string (order kept), else an
// array of [key, value] pairs.
func jsonItems(items []pyon.Item, depth int) any {
	obj := make(jsonObject, 0, len(items))
	for _, it := range items {
		k, ok := it.Key.(string)
		if !ok {
			pairs := make([]any, len(items))
			for i, it := range items {
				pairs[i] = []any{toJSON(it.Key, depth), toJSON(it.Value, depth)}
			}
			return pairs
		}
		obj = append(obj, jsonMember{k, toJSON(it.Value, depth)})
	}
	return obj
}

// jsonObject is a JSON object that keeps its members' order.
type jsonObject []jsonMember

type jsonMember struct {
	Key   string
	Value any
}

func (o jsonObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalJSON(m.Key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := marshalJSON(m.Value)
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// marshalJSON is json.Marshal without HTML escaping and without the
// trailing newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// encodeJSON writes v as one JSON document followed by a newline, indented
// unless compact.
func encodeJSON(v any, compact bool) ([]byte, error) {
	b, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	if !compact {
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err != nil {
			return nil, err
		}
		b = out.Bytes()
	}
	return append(b, '\n'), nil
}
