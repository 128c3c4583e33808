package main

import (
	gojson "github.com/goccy/go-json"
)

// The dash suite's viewers parse every message they receive in full into
// generic values (objects as map[string]any, arrays as []any, strings,
// numbers, booleans, null), as a browser's JSON.parse does. encoding/json
// does the same through reflection at several times the cost, which on 2
// shared cores made the viewers' process a large share of the machine;
// github.com/goccy/go-json, a drop-in replacement, parses the same JSON
// faster. Numbers come out as the viewers need them: an integral value
// (within ±2^53) as int64 — JSON does not tell ints from floats, and list
// indices must be ints — any other as float64.

// parseJSON parses one JSON value, the whole of b.
func parseJSON(b []byte) (any, error) {
	var v any
	if err := gojson.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return intsOf(v), nil
}

// intsOf replaces every integral float64 of v (within ±2^53) by an int64,
// in place.
func intsOf(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) && x > -1<<53 && x < 1<<53 {
			return int64(x)
		}
	case []any:
		for i := range x {
			x[i] = intsOf(x[i])
		}
	case map[string]any:
		for k, e := range x {
			x[k] = intsOf(e)
		}
	}
	return v
}
