package track

import "sync"

// ResetNilRunWarning makes the next logging call on a nil run warn again.
func ResetNilRunWarning() { nilRunOnce = sync.Once{} }
