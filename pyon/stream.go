package pyon

import "io"

// EncodeOptions change how PYON text is written. The zero value writes
// what SiPyCo writes (Encode).
type EncodeOptions struct {
	// StrictJSON writes NaN, Infinity and -Infinity as null, so that a
	// browser's JSON.parse reads the text; everything else is unchanged
	// ({"__jsonclass__": …} for the PYON types). Python then reads None
	// where the value was not finite. It also writes a frozen Set as
	// "frozenset" everywhere (SiPyCo's decoder has no such class, so
	// Encode writes "set" outside dict keys and set items).
	StrictJSON bool
	// Pretty writes the text over several lines, indented by 4 spaces,
	// with ": " after keys: what SiPyCo's encode(x, pretty=True) and
	// store_file write (json.dumps with indent=4). It decodes to the same
	// value.
	Pretty bool
}

// AppendWith is Append with options.
func AppendWith(dst []byte, v any, o EncodeOptions) ([]byte, error) {
	if o.Pretty {
		compact, err := AppendWith(nil, v, EncodeOptions{StrictJSON: o.StrictJSON})
		if err != nil {
			return dst, err
		}
		var ind indenter
		return ind.append(dst, compact), nil
	}
	e := encoder{buf: dst, strict: o.StrictJSON}
	if err := e.value(v); err != nil {
		path, err := splitPath(err)
		return dst, &EncodeError{Path: path, Err: err}
	}
	return e.buf, nil
}

// An Encoder writes PYON text to a writer in pieces of about 32 KiB, so a
// large value (a whole tree's snapshot) is never held in memory as one
// piece. It is not safe for concurrent use.
type Encoder struct {
	w   io.Writer
	o   EncodeOptions
	buf []byte
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer, o EncodeOptions) *Encoder {
	if o.Pretty {
		w = &indentWriter{w: w}
	}
	return &Encoder{w: w, o: o}
}

// Encode writes the text of v (no newline). On an encoding error part of
// the text may already have been written; a write error is returned as is.
func (enc *Encoder) Encode(v any) error {
	e := encoder{buf: enc.buf[:0], strict: enc.o.StrictJSON, w: enc.w}
	err := e.value(v)
	if e.werr != nil {
		return e.werr
	}
	if err != nil {
		path, err := splitPath(err)
		return &EncodeError{Path: path, Err: err}
	}
	if len(e.buf) > 0 {
		if _, err := enc.w.Write(e.buf); err != nil {
			return err
		}
	}
	if cap(e.buf) <= 2*flushAt {
		enc.buf = e.buf[:0]
	}
	return nil
}
