package store

import (
	"fmt"
	"math"
	"reflect"
	"unicode/utf8"

	"github.com/sigoco/sigoco/pyon"
)

// CheckValueContent checks what a value holds, so that every reader can
// return it: nesting at most MaxValueDepth, every string and map key valid
// UTF-8, and, when finite is set (params: they are compared and filtered
// on), no NaN or infinity. what names the value in the error, which wraps
// ErrBadRecord (a depth beyond the limit is a *LimitError).
func (l Limits) CheckValueContent(what string, v any, finite bool) error {
	c := contentCheck{lim: l.WithDefaults(), finite: finite}
	if err := c.walk(v, 1); err != nil {
		if _, ok := err.(*LimitError); ok {
			err.(*LimitError).Item = what
			return err
		}
		return fmt.Errorf("%w: %s: %v", ErrBadRecord, what, err)
	}
	return nil
}

type contentCheck struct {
	lim    Limits
	finite bool
}

func (c *contentCheck) deeper(depth int) error {
	if depth > c.lim.MaxValueDepth {
		return &LimitError{Limit: "MaxValueDepth", Size: int64(depth), Max: int64(c.lim.MaxValueDepth)}
	}
	return nil
}

func (c *contentCheck) str(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("the string %q is not valid UTF-8", short(s))
	}
	return nil
}

func (c *contentCheck) float(f float64) error {
	if c.finite && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return fmt.Errorf("%v is not a finite number (a param must be comparable)", f)
	}
	return nil
}

// walk checks v, a value at nesting level depth (1: the value itself).
func (c *contentCheck) walk(v any, depth int) error {
	switch x := v.(type) {
	case nil, bool, int64, int, int32, int16, int8, uint64, uint32, uint16, uint8, uint, []byte, pyon.NPScalar, pyon.NDArray:
		return nil
	case string:
		return c.str(x)
	case float64:
		return c.float(x)
	case float32:
		return c.float(float64(x))
	case complex128:
		if err := c.float(real(x)); err != nil {
			return err
		}
		return c.float(imag(x))
	case []float64:
		if !c.finite {
			return nil
		}
		for _, f := range x {
			if err := c.float(f); err != nil {
				return err
			}
		}
		return nil
	case []int64:
		return nil
	case []any:
		return c.list(x, depth)
	case pyon.Tuple:
		return c.list(x, depth)
	case pyon.Set:
		return c.list(x.Items, depth)
	case map[string]any:
		if err := c.deeper(depth); err != nil {
			return err
		}
		for k, e := range x {
			if err := c.str(k); err != nil {
				return err
			}
			if err := c.walk(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case pyon.Dict:
		return c.items(x, depth)
	case pyon.OrderedDict:
		return c.items(x, depth)
	}
	return c.reflect(reflect.ValueOf(v), depth)
}

func (c *contentCheck) list(l []any, depth int) error {
	if err := c.deeper(depth); err != nil {
		return err
	}
	for _, e := range l {
		if err := c.walk(e, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (c *contentCheck) items(items []pyon.Item, depth int) error {
	if err := c.deeper(depth); err != nil {
		return err
	}
	for _, it := range items {
		if err := c.walk(it.Key, depth+1); err != nil {
			return err
		}
		if err := c.walk(it.Value, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// reflect checks the Go values other than the generic model (an
// in-process caller's []string, map[string]int, a struct, a pointer).
func (c *contentCheck) reflect(rv reflect.Value, depth int) error {
	switch rv.Kind() {
	case reflect.String:
		return c.str(rv.String())
	case reflect.Float32, reflect.Float64:
		return c.float(rv.Float())
	case reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return c.reflect(rv.Elem(), depth)
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		if err := c.deeper(depth); err != nil { // a pointer cycle ends here
			return err
		}
		return c.reflect(rv.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		if err := c.deeper(depth); err != nil {
			return err
		}
		for i := range rv.Len() {
			if err := c.reflect(rv.Index(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		if err := c.deeper(depth); err != nil {
			return err
		}
		it := rv.MapRange()
		for it.Next() {
			if err := c.reflect(it.Key(), depth+1); err != nil {
				return err
			}
			if err := c.reflect(it.Value(), depth+1); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if err := c.deeper(depth); err != nil {
			return err
		}
		for i := range rv.NumField() {
			if rv.Type().Field(i).IsExported() {
				if err := c.reflect(rv.Field(i), depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
