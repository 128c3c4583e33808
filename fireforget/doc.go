// Package fireforget runs a target's methods in the background: a call
// returns at once and the method runs on the proxy's goroutine. It is
// SiPyCo's FFProxy for Go, for slow, non-critical calls (to a local object
// or to an *rpc.Client) where not blocking matters more than reliability.
//
// A Proxy finds methods by reflection, by Go name or snake_case name
// (SetAttenuation or set_attenuation), as the rpc server does; a method
// may take a context.Context first, which is cancelled when the proxy is
// closed or the call's Timeout passes. An unknown method or arguments that
// do not fit the method's parameters are an error returned by Call at once.
//
// A target with a method
//
//	Call(ctx context.Context, method string, args ...any) (any, error)
//
// (a Caller: *rpc.Client and *rpc.BestEffortClient are) is called through
// it, Call(ctx, name, args...) for a call to name; the target then checks
// the method name and arguments itself, and its verdict arrives like any
// other failure, as a warning.
//
// # Policies
//
// What happens to a call made while the previous one still runs is the
// Policy: DropWhileBusy (SiPyCo's; the default) drops it, Coalesce keeps
// only the latest pending call, Queue keeps up to QueueSize pending calls
// in order. A dropped call is reported as a warning on Options.Logger and
// counted in Stats; errors returned by the target and panics inside it are
// warnings and counted too. None of them reaches the caller.
//
// # Concurrency
//
// A Proxy is safe for concurrent use. It starts one goroutine, which runs
// the calls one at a time in the order the policy keeps them; the target's
// methods are therefore never called concurrently by one Proxy. Join waits
// until nothing is running or pending. Close cancels the context of the
// running call, drops pending calls and waits for the goroutine (a method
// that ignores its context delays Close until it returns).
package fireforget
