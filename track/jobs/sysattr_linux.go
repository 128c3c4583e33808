package jobs

import "syscall"

// sysProcAttr: a process group of its own, and SIGKILL when the thread that
// started it ends — execute keeps that thread locked (runtime.LockOSThread)
// until the process is reaped, so this fires only when trackd itself dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
