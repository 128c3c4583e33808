//go:build !unix

package track

// lockDir is a no-op where flock is missing: two processes replaying one
// spool at once only send its records twice, which the server ignores.
func lockDir(dir string) (unlock func(), ok bool) { return func() {}, true }
