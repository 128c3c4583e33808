package pyon

import "io"

// indenter turns compact PYON text into Python's json.dumps(indent=4)
// layout: a newline and indentation after an opening bracket and after
// each comma, ": " after a key, empty containers kept as [] and {}. It
// keeps its state between calls, so the text may come in pieces.
type indenter struct {
	inString bool
	escape   bool
	depth    int
	open     bool // a bracket was just opened: its first item (or its end) decides the newline
}

func (ind *indenter) newline(dst []byte) []byte {
	dst = append(dst, '\n')
	for range ind.depth {
		dst = append(dst, "    "...)
	}
	return dst
}

// append appends the indented form of src to dst.
func (ind *indenter) append(dst, src []byte) []byte {
	for _, c := range src {
		if ind.inString {
			dst = append(dst, c)
			switch {
			case ind.escape:
				ind.escape = false
			case c == '\\':
				ind.escape = true
			case c == '"':
				ind.inString = false
			}
			continue
		}
		if ind.open {
			ind.open = false
			if c == ']' || c == '}' {
				ind.depth--
				dst = append(dst, c)
				continue
			}
			dst = ind.newline(dst)
		}
		switch c {
		case '"':
			ind.inString = true
			dst = append(dst, c)
		case '[', '{':
			ind.depth++
			ind.open = true
			dst = append(dst, c)
		case ']', '}':
			ind.depth--
			dst = append(ind.newline(dst), c)
		case ',':
			dst = ind.newline(append(dst, ','))
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// indentWriter indents what an Encoder writes (EncodeOptions.Pretty).
type indentWriter struct {
	w   io.Writer
	ind indenter
	buf []byte
}

func (iw *indentWriter) Write(p []byte) (int, error) {
	iw.buf = iw.ind.append(iw.buf[:0], p)
	if _, err := iw.w.Write(iw.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
