package store

import "time"

// Time is a point in time as the tracking types carry it: Unix seconds as a
// float64 (microsecond resolution), 0 for none. Every peer reads a number —
// Python, JavaScript, rpctool — which a Go time.Time (a msgpack extension)
// is not.
type Time float64

// TimeOf converts a time.Time (the zero time to 0).
func TimeOf(t time.Time) Time {
	if t.IsZero() {
		return 0
	}
	return Time(float64(t.UnixNano()) / 1e9)
}

// Now returns the current time.
func Now() Time { return TimeOf(time.Now()) }

// Go returns t as a time.Time (0 as the zero time).
func (t Time) Go() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(0, t.UnixNano())
}

// IsZero reports whether t is unset.
func (t Time) IsZero() bool { return t == 0 }

// UnixNano returns t in Unix nanoseconds.
func (t Time) UnixNano() int64 { return int64(float64(t) * 1e9) }

// Format formats t as time.Time.Format does, in UTC ("" for 0).
func (t Time) Format(layout string) string {
	if t == 0 {
		return ""
	}
	return t.Go().UTC().Format(layout)
}
