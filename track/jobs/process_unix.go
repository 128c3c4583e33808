//go:build unix

package jobs

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the solver in a process group of its own, so that a
// stop reaches the processes it started too (and, on Linux, has it killed
// when trackd dies: see sysProcAttr).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = sysProcAttr()
}

// terminate sends SIGTERM (SIGKILL with kill) to the solver's group.
func terminate(cmd *exec.Cmd, kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		return cmd.Process.Signal(sig)
	}
	return nil
}

// signalOf names the signal that ended a process ("" if it exited).
func signalOf(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}

// openNonblock keeps opening a FIFO from blocking (openOutput).
const openNonblock = syscall.O_NONBLOCK

// openNoFollow makes an open fail on a symbolic link.
const openNoFollow = syscall.O_NOFOLLOW
