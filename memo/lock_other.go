//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package memo

import "context"

// Lock does nothing on this system (no flock): only goroutines of one
// process are kept from computing an entry twice.
func (s *DirStorage) Lock(ctx context.Context, key Key) (func(), error) {
	return func() {}, nil
}
