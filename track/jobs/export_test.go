package jobs

// SetLocalStartedHook sets the hook a local process's start runs before
// STARTED is stored (TestDaemonKilledWhileStarting).
func SetLocalStartedHook(f func(pid int)) { localStartedHook = f }
