//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package memo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sigoco/sigoco/internal/backoff"
)

// Lock takes the entry's lock file (see DirStorage), polling with a
// jittered backoff of 5 ms to 250 ms until it is free or ctx ends.
func (s *DirStorage) Lock(ctx context.Context, key Key) (func(), error) {
	path := s.base(key) + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("memo: %w", err)
	}
	for n := 0; ; n++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("memo: lock: %w", err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the flock
		}
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return nil, fmt.Errorf("memo: lock %s: %w", path, err)
		}
		t := time.NewTimer(backoff.Wait(n, 5*time.Millisecond, 250*time.Millisecond))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}
