package pyon

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Sentinel errors. Decode and Encode wrap them in a *DecodeError or
// *EncodeError that says where in the value the problem is; test with
// errors.Is.
var (
	// ErrSyntax: the text is not JSON (nor one of Python's bare Infinity,
	// -Infinity, NaN tokens).
	ErrSyntax = errors.New("pyon: invalid JSON")
	// ErrV1 is returned for text in PYON v1 (Python-literal) syntax, which
	// SiPyCo decoded with eval and sigoco refuses. Servers can send the
	// message to the peer as is.
	ErrV1 = errors.New("pyon: PYON v1 is not supported (Python-literal syntax); the peer must use PYON v2, SiPyCo's \"pyon_v2\" feature")
	// ErrUnknownClass: a {"__jsonclass__": [name, args]} object whose name
	// is not a PYON v2 type.
	ErrUnknownClass = errors.New("pyon: unknown __jsonclass__")
	// ErrMalformed: a __jsonclass__ object whose arguments do not make a
	// value of that class (wrong count, wrong types, bad base64, an array
	// whose data does not match its shape, an unhashable dict key, ...).
	ErrMalformed = errors.New("pyon: malformed value")
	// ErrUnsupported: Encode was given a Go value PYON cannot represent
	// (a channel, a function, a numpy dtype sigoco cannot convert, ...).
	ErrUnsupported = errors.New("pyon: unsupported value")
	// ErrTooDeep: nesting deeper than maxDepth (a cyclic pointer, usually).
	ErrTooDeep = errors.New("pyon: value nested too deeply")
)

// maxDepth bounds recursion in Encode and Convert; encoding/json applies the
// same bound (10000) to documents, so Decode inherits it.
const maxDepth = 10000

// DecodeError says where in a document decoding failed.
type DecodeError struct {
	// Path is a JSON Pointer (RFC 6901) into the document as written,
	// e.g. "/args/__jsonclass__/1/0/2"; "" is the whole document.
	Path string
	// Err wraps one of the sentinels above.
	Err error
}

func (e *DecodeError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (at %s)", e.Err, e.Path)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError says where in a Go value encoding failed.
type EncodeError struct {
	// Path is a JSON Pointer to the value in the document being produced
	// ("" for the top level): map keys, struct field names, list indexes.
	Path string
	Err  error
}

func (e *EncodeError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (at %s)", e.Err, e.Path)
}

func (e *EncodeError) Unwrap() error { return e.Err }

// ConvertError is returned by Convert and DecodeInto when a value does not
// fit the Go type asked for. Its message has no "pyon:" prefix so that a
// server can show it to the caller as is, e.g.
// `set_attenuation: argument 1: cannot use string "x" as float64`.
type ConvertError struct {
	// Path locates the value inside the converted one, in Go-ish syntax
	// ("[2].name", "[0][1]"); "" for the value itself.
	Path string
	// Value is a short description of the offending value (`string "x"`).
	Value string
	// Type is the Go type it could not be converted to.
	Type reflect.Type
	// Reason, if set, explains why (`overflows int8`, `unknown field "x"`).
	Reason string
}

func (e *ConvertError) Error() string {
	var b strings.Builder
	b.WriteString("cannot use ")
	b.WriteString(e.Value)
	b.WriteString(" as ")
	b.WriteString(e.Type.String())
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Path != "" {
		b.WriteString(" (at ")
		b.WriteString(e.Path)
		b.WriteString(")")
	}
	return b.String()
}

// pathError collects a path while an error unwinds the recursion, so the
// successful path costs nothing: each level prepends its segment.
type pathError struct {
	segs []string // innermost first
	err  error
}

func (e *pathError) Error() string { return e.err.Error() }

// at adds seg (one JSON Pointer token, unescaped) to err's path.
func at(err error, seg string) error {
	if pe, ok := err.(*pathError); ok {
		pe.segs = append(pe.segs, seg)
		return pe
	}
	return &pathError{segs: []string{seg}, err: err}
}

func atIndex(err error, i int) error { return at(err, strconv.Itoa(i)) }

// pointer renders the collected segments as a JSON Pointer.
func (e *pathError) pointer() string {
	var b strings.Builder
	for i := len(e.segs) - 1; i >= 0; i-- {
		b.WriteByte('/')
		s := strings.ReplaceAll(e.segs[i], "~", "~0")
		b.WriteString(strings.ReplaceAll(s, "/", "~1"))
	}
	return b.String()
}

func splitPath(err error) (string, error) {
	if pe, ok := err.(*pathError); ok {
		return pe.pointer(), pe.err
	}
	return "", err
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}
