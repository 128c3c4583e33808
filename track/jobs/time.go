package jobs

import (
	"reflect"
	"time"
)

// Time is a point in time as jobs carry it: Unix seconds as a float64, 0
// for none — a number every peer reads (Python, JavaScript, rpctool),
// which a Go time.Time (a msgpack extension) is not. It is the
// convention of store.Time on the tracking branch; after the merge this
// becomes `type Time = store.Time`.
type Time float64

// TimeOf converts a time.Time (the zero time to 0).
func TimeOf(t time.Time) Time {
	if t.IsZero() {
		return 0
	}
	return Time(float64(t.UnixNano()) / 1e9)
}

// now is the current Time.
func now() Time { return TimeOf(time.Now()) }

// Go returns t as a time.Time (0 as the zero time).
func (t Time) Go() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(float64(t)*1e9))
}

// IsZero reports whether t is unset.
func (t Time) IsZero() bool { return t == 0 }

// storeNow returns the current time in the type of the store's time
// fields (time.Time, or the float seconds of store.Time) — a bridge while
// the store's time type changes; it becomes store.Now() after the merge.
func storeNow[T any](T) T {
	var out T
	switch p := any(&out).(type) {
	case *time.Time:
		*p = time.Now()
	default:
		if v := reflect.ValueOf(&out).Elem(); v.Kind() == reflect.Float64 {
			v.SetFloat(float64(time.Now().UnixNano()) / 1e9)
		}
	}
	return out
}
