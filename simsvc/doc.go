// Package simsvc runs simulations as services and drives them through
// their lifecycle from another process, in the manner of SimService
// (docs/simsvc.md maps every SimService concept to its counterpart here).
//
// # Service side
//
// A Service implements Run, Init, Start, Step, Finish and Stop. A Server
// serves it as one rpc target (native protocol and SiPyCo's pc_rpc)
// whose lifecycle is a state machine:
//
//	REGISTERED → SIM_LOADED → SIM_INITIALIZED → SIM_STARTED → SIM_RUNNING → SIM_FINISHED | SIM_STOPPED
//
// (run, init, start, step, finish | stop; stop(terminate_sim=False) ends
// in SIM_FINISHED; a failed call in SIM_FAILED with error_message set).
// A call out of order fails with a *StateError naming the current status,
// which survives the wire (Proxy returns it as a *StateError; other
// clients see the remote error type "simsvc.StateError"). The status,
// step, progress, error message, service functions and properties are
// published live as a syncstruct notifier named like the target, on the
// same port (wire.Mux).
//
// From inside the service (the ctx of every lifecycle call carries its
// Host), service functions (Host.Register, or Register(ctx, …)) and
// properties (Host.AddProperty, NewProperty) can be added at any stage:
// they appear in the method listings (with signatures and docs) at once.
// ProfilerReport reports where the service spent CPU (runtime/pprof,
// sampled from NewServer on). With Options.InsideRun the service steps by
// itself after run until stopped (SimService's inside_run); with
// Options.Track it is a tracked run that the server starts and ends
// (status, step and progress following the lifecycle, the target
// exposed, the profiler report stored at finish), and with
// Options.Recorder it records into a run of the caller's (TrackRun adapts
// a track.Run). SpawnOptions.Track makes a spawned child a tracked run.
//
// # Client side
//
// Dial returns a Proxy with the lifecycle calls, Status, CurrentStep,
// ErrorMessage, Call for service functions (ErrNotAvailable before the
// service registers them), Get and Set for properties, ProfilerReport,
// and the live status (DialOptions.OnUpdate, Latest, WaitFor). Spawn
// starts a service program as a child process on a listener the parent
// hands over (ServeChild is the child's side) and returns its proxy;
// Proxy.Close ends the process. A Manager keeps a program's service
// processes: factories registered by service name, processes spawned by
// name under unique process names ("heat-1", served as the target),
// looked up by process name, and closed together (also on a signal).
// Execute runs the whole lifecycle around
// the caller's stepping, closing the service on every path out.
//
// SiPyCo's Python Client and sipyco_rpctool, and sigoco's rpctool, drive
// a service like any rpc target: `rpctool 127.0.0.1 PORT call step`.
//
// # Concurrency
//
// Server, Host and Proxy are safe for concurrent use. A Server calls its
// Service one call at a time (lifecycle calls, steering, service
// functions and property accessors take turns; a waiting call gives up
// when its context ends), while status queries and the profiler report
// are answered during a step. Several services, in one process or many,
// can be driven concurrently from one program, each through its Proxy.
// Close on Server and Proxy is idempotent and waits for the goroutines
// they started.
package simsvc
