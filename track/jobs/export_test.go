package jobs

// SetLocalStartedHook sets the hook a local process's start runs before
// STARTED is stored (TestDaemonKilledWhileStarting).
func SetLocalStartedHook(f func(pid int)) { localStartedHook = f }

// WithExecutor returns o with ex replacing the executor of its name (a
// fake cluster, TestJobsFollowTheirNode).
func WithExecutor(o Options, ex Executor) Options {
	if o.executors == nil {
		o.executors = map[string]Executor{}
	}
	o.executors[ex.Name()] = ex
	return o
}
