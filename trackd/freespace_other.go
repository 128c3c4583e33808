//go:build !unix

package main

// freeSpace is not read where statfs is missing: no watermark.
func freeSpace(dir string) func() (int64, error) { return nil }
