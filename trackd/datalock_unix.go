//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// dataLock is DATA/trackd.lock, held with flock for the process's life
// (the kernel drops it when the process ends, however it ends): a second
// trackd on the same data directory is refused at start instead of
// marking the first one's runs crashed. The file names its holder.
type dataLock struct{ f *os.File }

// lockData takes the lock of dir, creating dir, and writes this process's
// pid into it; if another process holds it the error names that process
// (its pid and address, as it wrote them).
func lockData(dir string) (*dataLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	name := filepath.Join(dir, "trackd.lock")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(name)
		f.Close()
		holder := strings.TrimSpace(string(b))
		if holder == "" {
			holder = "another process"
		}
		return nil, fmt.Errorf("data directory %s is in use by another trackd (%s); stop it or use another --data", dir, holder)
	}
	l := &dataLock{f: f}
	return l, l.write("")
}

// write records the holder: this pid and, once listening, its address.
func (l *dataLock) write(addr string) error {
	s := fmt.Sprintf("pid %d", os.Getpid())
	if addr != "" {
		s += ", address " + addr
	}
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(s+"\n"), 0)
	return err
}

func (l *dataLock) Close() error { return l.f.Close() }
