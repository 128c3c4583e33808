package jobs

import "github.com/sigoco/sigoco/track/store"

// Time is a point in time as jobs carry it: the store's Unix seconds as a
// float64, 0 for none — a number every peer reads (Python, JavaScript,
// rpctool), which a Go time.Time (a msgpack extension) is not.
type Time = store.Time

// now is the current Time.
func now() Time { return store.Now() }
