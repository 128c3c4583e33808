//go:build unix

package track

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on dir/lock without waiting; ok is false
// when another process (a running run, a replay) holds it.
func lockDir(dir string) (unlock func(), ok bool) {
	f, err := os.OpenFile(dir+"/lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return func() { f.Close() }, true
}
