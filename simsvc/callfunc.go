package simsvc

import (
	"context"
	"fmt"
	"reflect"

	"github.com/sigoco/sigoco/rpc"
	"github.com/vmihailenco/msgpack/v5"
)

// callFunction calls the service function wireName with untyped
// arguments, converted to its parameter types through their msgpack
// encoding (what they would have been decoded from on the wire). It is
// the one fixed entry point to the service functions, for callers whose
// view of the target's methods is fixed: a tracker's exposed object.
func (s *Server) callFunction(ctx context.Context, name string, args []any) (any, error) {
	_, wireName, err := names(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	fv, ok := s.funcVals[wireName]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q is not registered (yet)", ErrNotAvailable, wireName)
	}
	ft := fv.Type()
	var in []reflect.Value
	first := 0
	if ft.NumIn() > 0 && ft.In(0) == ctxType {
		in = append(in, reflect.ValueOf(ctx))
		first = 1
	}
	n := ft.NumIn() - first
	if len(args) != n && !(ft.IsVariadic() && len(args) >= n-1) {
		return nil, fmt.Errorf("%w: %s takes %d arguments, not %d", rpc.ErrValue, wireName, n, len(args))
	}
	for i, a := range args {
		pi := first + i
		var pt reflect.Type
		if ft.IsVariadic() && pi >= ft.NumIn()-1 {
			pt = ft.In(ft.NumIn() - 1).Elem()
		} else {
			pt = ft.In(pi)
		}
		v := reflect.New(pt)
		b, err := msgpack.Marshal(a)
		if err == nil {
			err = msgpack.Unmarshal(b, v.Interface())
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: argument %d: cannot use %T as %s", rpc.ErrValue, wireName, i+1, a, pt)
		}
		in = append(in, v.Elem())
	}
	out := fv.Call(in)
	var res any
	for i, o := range out {
		if ft.Out(i) == errType {
			if !o.IsNil() {
				return nil, o.Interface().(error)
			}
			continue
		}
		res = o.Interface()
	}
	return res, nil
}

var (
	ctxType = reflect.TypeFor[context.Context]()
	errType = reflect.TypeFor[error]()
)
