//go:build !unix

package track

func addRusage(map[string]any) {}
