package track

import (
	"sync"
	"time"
)

// ResetNilRunWarning makes the next logging call on a nil run warn again.
func ResetNilRunWarning() { nilRunOnce = sync.Once{} }

// UploadBlob is uploadBlob, for TestUploadResumes (an external test: it
// runs a track/server, which imports this package).
var UploadBlob = uploadBlob

// SetGPUTimeout sets how long an nvidia-smi query may take for the runs
// started until restore is called.
func SetGPUTimeout(d time.Duration) (restore func()) {
	old := gpuTimeout
	gpuTimeout = d
	return func() { gpuTimeout = old }
}
