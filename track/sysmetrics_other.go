//go:build !unix

package track

import "time"

func processCPU() time.Duration { return -1 }

func residentBytes() int64 { return 0 }
