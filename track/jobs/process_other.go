//go:build !unix

package jobs

import (
	"os"
	"os/exec"
)

func setProcessGroup(cmd *exec.Cmd) {}

func terminate(cmd *exec.Cmd, kill bool) error { return cmd.Process.Kill() }

func signalOf(ps *os.ProcessState) string { return "" }

const openNonblock = 0

const openNoFollow = 0
