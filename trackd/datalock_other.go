//go:build !unix

package main

// dataLock is a no-op where flock is missing: two trackd on one data
// directory are not detected there.
type dataLock struct{}

func lockData(dir string) (*dataLock, error) { return &dataLock{}, nil }

func (l *dataLock) write(addr string) error { return nil }

func (l *dataLock) Close() error { return nil }
