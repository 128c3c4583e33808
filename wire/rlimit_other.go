//go:build !unix

package wire

// openFileLimit: no limit known.
func openFileLimit() (uint64, bool) { return 0, false }
