package main

import (
	"encoding/json"
	"errors"
	"strconv"
)

// The dash suite's viewers parse every message they receive in full into
// generic values (objects as map[string]any, arrays as []any, strings,
// numbers, booleans, null), as a browser's JSON.parse does. encoding/json
// does the same through reflection at several times the cost, which on 2
// shared cores made the viewers' process, not the server, set the
// latency; this parser is the viewers' JSON.parse. Numbers come out as
// the viewers need them: an integral value (within ±2^53) as int64 — JSON
// does not tell ints from floats, and list indices must be ints — any
// other as float64.

var errViewerJSON = errors.New("viewer: malformed JSON")

// parseJSON parses one JSON value, the whole of b.
func parseJSON(b []byte) (any, error) {
	p := jsonParser{b: b}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(b) {
		return nil, errViewerJSON
	}
	return v, nil
}

type jsonParser struct {
	b []byte
	i int
}

// maxJSONDepth bounds nesting, as the publisher's trees are bounded.
const maxJSONDepth = 256

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errViewerJSON
	}
	p.space()
	if p.i >= len(p.b) {
		return nil, errViewerJSON
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		m := map[string]any{}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return m, nil
		}
		for {
			p.space()
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return nil, errViewerJSON
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[k] = v
			p.space()
			if p.i >= len(p.b) {
				return nil, errViewerJSON
			}
			p.i++
			switch p.b[p.i-1] {
			case ',':
			case '}':
				return m, nil
			default:
				return nil, errViewerJSON
			}
		}
	case c == '[':
		p.i++
		l := []any{}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return l, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			p.space()
			if p.i >= len(p.b) {
				return nil, errViewerJSON
			}
			p.i++
			switch p.b[p.i-1] {
			case ',':
			case ']':
				return l, nil
			default:
				return nil, errViewerJSON
			}
		}
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.word("true")
	case c == 'f':
		return false, p.word("false")
	case c == 'n':
		return nil, p.word("null")
	}
	return p.number()
}

func (p *jsonParser) word(w string) error {
	if len(p.b)-p.i < len(w) || string(p.b[p.i:p.i+len(w)]) != w {
		return errViewerJSON
	}
	p.i += len(w)
	return nil
}

// str parses a string; one with escapes is left to encoding/json.
func (p *jsonParser) str() (string, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", errViewerJSON
	}
	start, escaped := p.i, false
	for p.i++; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '\\':
			escaped = true
			p.i++
		case c < 0x20:
			return "", errViewerJSON
		case c == '"':
			p.i++
			if !escaped {
				return string(p.b[start+1 : p.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
				return "", errViewerJSON
			}
			return s, nil
		}
	}
	return "", errViewerJSON
}

func (p *jsonParser) number() (any, error) {
	start, integer := p.i, true
	for ; p.i < len(p.b); p.i++ {
		c := p.b[p.i]
		if c == '.' || c == 'e' || c == 'E' {
			integer = false
		} else if !(c >= '0' && c <= '9' || c == '-' || c == '+') {
			break
		}
	}
	s := string(p.b[start:p.i])
	if integer {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > -1<<53 && n < 1<<53 {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, errViewerJSON
	}
	if f == float64(int64(f)) && f > -1<<53 && f < 1<<53 {
		return int64(f), nil
	}
	return f, nil
}
