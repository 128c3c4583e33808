package rpc

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// argSource is where bind reads a call's arguments from: a native msgpack
// frame (frameArgs) or the decoded PYON values of a SiPyCo call
// (pyonArgs). bind is generic over it so that the native path calls it
// directly, without an interface value per call.
type argSource interface {
	// positional returns the number of positional arguments.
	positional(m *method) (int, *RemoteError)
	// keywords returns the number of keyword arguments.
	keywords(m *method) (int, *RemoteError)
	// key reads the name of the next keyword argument.
	key(m *method) (string, *RemoteError)
	// value decodes the next argument (positional, or the value of the
	// keyword key read last) into v; what names it in errors.
	value(m *method, v reflect.Value, plan *typePlan, what argName) *RemoteError
	// param finds the parameter a keyword names, or -1.
	param(m *method, key string) int
	// optsField finds the options-struct field a keyword names, or nil.
	optsField(m *method, key string) []int
}

// argName names an argument in an error: positional (pos, from 1) or
// keyword (pos 0). It is a value, not a string, because the name is only spelt
// out when an argument is wrong, not on every call.
type argName struct {
	pos int
	key string
}

func (a argName) String() string {
	if a.pos == 0 {
		return fmt.Sprintf("keyword argument %q", a.key)
	}
	return fmt.Sprintf("argument %d", a.pos)
}

// bind binds a call's positional and keyword arguments from src to m's
// parameters, straight into values of their types, and appends them to in.
// A wrong count, type or keyword is a *RemoteError naming the method and
// the argument.
func bind[S argSource](m *method, src S, in []reflect.Value) ([]reflect.Value, *RemoteError) {
	base := len(in)
	n, re := src.positional(m)
	if re != nil {
		return in, re
	}
	np := len(m.params)
	if n > np && !m.variadic {
		return in, m.badArgs("takes %s, got %d", plural(np, "%d argument"), n)
	}
	for i := 0; i < n; i++ {
		p := &m.params[min(i, np-1)]
		t := p.typ
		if m.variadic && i >= np-1 {
			t = t.Elem()
		}
		v := reflect.New(t).Elem()
		if re := src.value(m, v, p.plan, argName{pos: i + 1}); re != nil {
			return in, re
		}
		in = append(in, v)
	}
	nk, re := src.keywords(m)
	if re != nil {
		return in, re
	}
	fixed := np
	if m.variadic {
		fixed-- // the variadic slice never binds by keyword
	}
	// Positional arguments given so far, then room for the rest.
	for len(in)-base < fixed {
		in = append(in, reflect.Value{})
	}
	var opts reflect.Value // the trailing options struct, once a keyword needs it
	for k := 0; k < nk; k++ {
		key, re := src.key(m)
		if re != nil {
			return in, re
		}
		what := argName{key: key}
		if j := src.param(m, key); j >= 0 && j < fixed {
			if j < n || in[base+j].IsValid() {
				return in, m.badArgs("argument %d (%s) given more than once", j+1, key)
			}
			v := reflect.New(m.params[j].typ).Elem()
			if re := src.value(m, v, m.params[j].plan, what); re != nil {
				return in, re
			}
			in[base+j] = v
			continue
		}
		var field []int
		if m.opts != nil {
			field = src.optsField(m, key)
		}
		if field == nil {
			return in, m.unexpectedKeyword(key)
		}
		if !opts.IsValid() {
			last := base + fixed - 1
			if !in[last].IsValid() || (m.opts.ptr && in[last].IsNil()) {
				if m.opts.ptr {
					in[last] = reflect.New(m.opts.typ)
				} else {
					in[last] = reflect.New(m.opts.typ).Elem()
				}
			}
			opts = in[last]
			if m.opts.ptr {
				opts = opts.Elem()
			}
		}
		f := opts.FieldByIndex(field)
		if re := src.value(m, f, planFor(f.Type()), what); re != nil {
			return in, re
		}
	}
	return in, m.fillMissing(in[base : base+fixed])
}

// bindArgs binds the arguments of a native call: positional ones (an
// array) and keyword ones (a map, when hasKwargs) decoded from md.
func (m *method) bindArgs(md *msgDecoder, in []reflect.Value, hasKwargs bool) ([]reflect.Value, *RemoteError) {
	return bind(m, frameArgs{md, hasKwargs}, in)
}

// frameArgs reads arguments from a native call frame, each decoded by its
// parameter's plan.
type frameArgs struct {
	md        *msgDecoder
	hasKwargs bool
}

func (a frameArgs) positional(m *method) (int, *RemoteError) {
	n, err := a.md.arrayLen()
	if err != nil {
		return 0, badRequest(m.name+": arguments", err)
	}
	return n, nil
}

func (a frameArgs) keywords(m *method) (int, *RemoteError) {
	if !a.hasKwargs {
		return 0, nil
	}
	n, err := a.md.mapLen()
	if err != nil {
		return 0, badRequest(m.name+": keyword arguments", err)
	}
	return n, nil
}

func (a frameArgs) key(m *method) (string, *RemoteError) {
	k, err := a.md.decodeString()
	if err != nil {
		return "", badRequest(m.name+": keyword arguments", err)
	}
	return k, nil
}

func (a frameArgs) value(m *method, v reflect.Value, plan *typePlan, what argName) *RemoteError {
	start := a.md.offset()
	if err := plan.decode(a.md, v); err != nil {
		return m.argError(a.md, start, what, v.Type(), err)
	}
	return nil
}

func (a frameArgs) param(m *method, key string) int { return m.paramIndex(key) }

func (a frameArgs) optsField(m *method, key string) []int { return m.opts.fields[key] }

// fillMissing checks that every fixed parameter got a value (params holds
// them in order); a trailing options struct left out becomes its zero value.
func (m *method) fillMissing(params []reflect.Value) *RemoteError {
	for j, v := range params {
		if v.IsValid() {
			continue
		}
		if j == len(params)-1 && m.opts != nil {
			params[j] = reflect.Zero(m.params[j].typ) // options left out
			continue
		}
		p := m.params[j]
		what := typeName(p.typ)
		if p.name != "" {
			what = p.name + " " + what
		}
		return m.badArgs("missing argument %d (%s)", j+1, what)
	}
	return nil
}

// paramIndex finds a parameter by Go or snake_case name (known only with
// generated docs), or -1.
func (m *method) paramIndex(key string) int {
	for j, p := range m.params {
		if p.name != "" && (p.name == key || p.snake == key) {
			return j
		}
	}
	return -1
}

// unexpectedKeyword refuses a keyword argument no parameter or option
// field takes. When the server does not know the method's parameter names
// (no generated docs), it says how to make them known.
func (m *method) unexpectedKeyword(key string) *RemoteError {
	named := false
	for _, p := range m.params {
		named = named || p.name != ""
	}
	fixed := len(m.params)
	if m.variadic {
		fixed--
	}
	if m.opts != nil {
		fixed--
	}
	if named || fixed <= 0 {
		return m.badArgs("unexpected keyword argument %q", key)
	}
	recv := m.fn.Type().In(0)
	for recv.Kind() == reflect.Ptr {
		recv = recv.Elem()
	}
	return m.badArgs("unexpected keyword argument %q: this server does not know the parameter names of %s "+
		"(pass the arguments by position, or have the server generate its names: add "+
		"//go:generate go run github.com/sigoco/sigoco/cmd/sigoco-gen -type %s "+
		"to the package that defines %s and run go generate)", key, m.name, recv.Name(), recv.Name())
}

func (m *method) badArgs(format string, args ...any) *RemoteError {
	return &RemoteError{Type: TypeBadArguments, Message: m.name + ": " + fmt.Sprintf(format, args...)}
}

// argError explains why the value at offset start did not decode into t:
// `argument 1: cannot use string "x" as float64`. It decodes the value
// again, untyped, to say what was received; msgpack that does not decode
// at all is a bad request.
func (m *method) argError(md *msgDecoder, start int, what argName, t reflect.Type, err error) *RemoteError {
	var me *mismatchError
	if !errors.As(err, &me) {
		return badRequest(m.name+": "+what.String(), err)
	}
	md.seek(start)
	got, err2 := md.decodeAny()
	if err2 != nil {
		return badRequest(m.name+": "+what.String(), err2)
	}
	msg := fmt.Sprintf("%s: %s: cannot use %s as %s", m.name, what, describe(got), typeName(t))
	if d := me.detail; d != "" && !strings.HasPrefix(d, "msgpack: invalid code") {
		msg += " (" + d + ")"
	}
	return &RemoteError{Type: TypeBadArguments, Message: msg}
}

func badRequest(what string, err error) *RemoteError {
	if errors.Is(err, errDecodedTooLarge) {
		return &RemoteError{Type: TypeRequestTooLarge, Message: fmt.Sprintf("%s: %v", what, err)}
	}
	return &RemoteError{Type: TypeBadRequest, Message: fmt.Sprintf("%s: %v", what, err)}
}
