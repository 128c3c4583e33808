package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSize reads --min-free: bytes, or a number with a unit K, M, G, T
// (powers of 1024; KiB, MB, … read the same).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(t), "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGT", t[n-1]); i >= 0 {
			mult, t = int64(1)<<(10*(i+1)), t[:n-1]
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || n < 0 || n*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("--min-free %q: want bytes or a size such as 512M or 1G", s)
	}
	return int64(n * float64(mult)), nil
}
