//go:build !unix

package track

import (
	"os/exec"
	"time"
)

func processCPU() time.Duration { return -1 }

func residentBytes() int64 { return 0 }

// killGroupOnCancel: the command alone is killed (exec.CommandContext's
// default).
func killGroupOnCancel(*exec.Cmd) {}
