package track

import "context"

// SetTestHookSourceFile sets the hook run before each source file is read
// (nil: none).
func SetTestHookSourceFile(f func(context.Context)) { testHookSourceFile = f }
