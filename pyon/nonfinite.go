package pyon

import "bytes"

// Python's json module writes float('inf'), float('-inf') and float('nan')
// as the bare tokens Infinity, -Infinity and NaN, which are not JSON and
// which encoding/json rejects. Rather than write a JSON parser of our own,
// Decode first rewrites those tokens, where they stand as values outside
// strings, into number literals that encoding/json accepts and that cannot
// otherwise occur: they are the only numbers written with an upper-case
// exponent mark, because the same pass lower-cases every other 'E' outside
// strings (which only occurs in numbers, where case does not matter).
// json.Number keeps a number's text, so the tree walk recognises them
// exactly. The pass copies only when it has something to change.
const (
	sentinelPosInf = "1E999"
	sentinelNegInf = "-1E999"
	sentinelNaN    = "0E999"
)

// rewriteNonFinite returns data with Python's non-finite tokens replaced
// (see above); it returns data itself when nothing needed changing.
func rewriteNonFinite(data []byte) []byte {
	if bytes.IndexAny(data, "INE") < 0 {
		return data // fast path: none of the three can occur
	}
	var out []byte // nil until the first change
	last := 0      // data[last:i] not yet copied into out
	emit := func(i, n int, repl string) {
		if out == nil {
			out = make([]byte, 0, len(data)+16)
		}
		out = append(out, data[last:i]...)
		out = append(out, repl...)
		last = i + n
	}
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++ // skip the escaped byte
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case 'E':
			emit(i, 1, "e")
		case 'I':
			if tokenAt(data, i, "Infinity") {
				emit(i, len("Infinity"), sentinelPosInf)
				i += len("Infinity") - 1
			}
		case 'N':
			if tokenAt(data, i, "NaN") {
				emit(i, len("NaN"), sentinelNaN)
				i += len("NaN") - 1
			}
		case '-':
			if tokenAt(data, i, "-Infinity") {
				emit(i, len("-Infinity"), sentinelNegInf)
				i += len("-Infinity") - 1
			}
		}
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// tokenAt reports whether tok stands at data[i:] as a whole JSON value:
// preceded by the start, whitespace or a delimiter that can come before a
// value, and followed by the end, whitespace or one that can come after.
// Anything else is left alone for encoding/json to reject, so no invalid
// document becomes valid by the rewrite.
func tokenAt(data []byte, i int, tok string) bool {
	if !bytes.HasPrefix(data[i:], []byte(tok)) {
		return false
	}
	if i > 0 {
		switch data[i-1] {
		case ' ', '\t', '\n', '\r', '[', ',', ':':
		default:
			return false
		}
	}
	if j := i + len(tok); j < len(data) {
		switch data[j] {
		case ' ', '\t', '\n', '\r', ']', ',', '}':
		default:
			return false
		}
	}
	return true
}
