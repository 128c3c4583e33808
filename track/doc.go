// Package track records simulation runs on a sigoco tracking server
// (trackd): params, stepped results, files, notes, tags, status, progress,
// logs and call counts, seen live on the server's notifiers and found later
// through its rpc target — without ever slowing or killing the simulation.
//
//	run, err := track.Start(ctx, track.Options{Project: "oscillator", Name: "sweep 1"})
//	...
//	run.LogParams(map[string]any{"omega": 2.0, "gamma": 0.1})
//	for step := range 1000 {
//		run.LogResult("x", x, int64(step))
//	}
//	err = run.End(ctx, track.StatusFinished)
//
// # Never in the way
//
// Every logging call enqueues and returns (a scalar result costs a few
// hundred nanoseconds and no allocation). A goroutine sends the queue in
// batches sized to the server's limits, one batch at a time, as rpc calls
// to the "tracker" target. Errors — a param logged again with another
// value, an over-long key, a value over the limit — come back with the
// batch's acknowledgement and are returned by the next Flush or End (the
// first one; Stats counts them all).
//
// A nil *Run does nothing, so a library logs with FromContext(ctx)
// whether or not its caller tracks; the first logging call on a nil run
// warns once through the package's logger (SetLogger), so a program that
// logs before Start sees its mistake, and MustFromContext panics where a
// run must be there. Counted (and its variants for other signatures) and
// Wrap count and time a function's calls; Wrap can also log its
// arguments and results.
//
// # Server down
//
// A run starts while the server is down (its id, a UUIDv7, is made here).
// Batches the server does not take are appended, in order, to a spool file
// in Options.SpoolDir; once the server answers again the spool is replayed
// in order before anything newer. Every record carries (run id, sequence
// number) and the server applies each once, so replays never duplicate.
// A spool left by a run that ended while the server was away is sent by
// the next Start in the same spool directory, or by `trackd replay DIR`.
//
// # Concurrency
//
// A Run is safe for use by many goroutines. End may be called once;
// logging after End is ignored (and counted).
package track
