//go:build unix

package main

import "syscall"

// freeSpace reads the bytes free to trackd (not to root) on dir's file
// system: Options.FreeSpace for the --min-free watermark.
func freeSpace(dir string) func() (int64, error) {
	return func() (int64, error) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return 0, err
		}
		return int64(st.Bavail) * int64(st.Bsize), nil
	}
}
