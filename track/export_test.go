package track

import "sync"

// ResetNilRunWarning makes the next logging call on a nil run warn again.
func ResetNilRunWarning() { nilRunOnce = sync.Once{} }

// UploadBlob is uploadBlob, for TestUploadResumes (an external test: it
// runs a track/server, which imports this package).
var UploadBlob = uploadBlob
