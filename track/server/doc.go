// Package server is the tracking server as a library: the rpc target
// "tracker" that runs send their batches to and readers query, the live
// state as syncstruct notifiers ("runs", bounded whatever the number of
// runs, "server", and "run/ID" for each listed open run or watched run;
// their schema is livestate.go), a logfwd server storing each run's logs, the calls to the
// exposed objects of live runs, and an HTTP handler (downloads and exports
// now, the dashboard later) — all on one port through a wire.Mux.
//
// Nothing here speaks a protocol of its own: batches are rpc calls, live
// state is syncstruct, logs are logfwd. The one addition is the expose
// connection (wire.BannerExpose), on which a run serves rpc to the server
// over a connection the run dialled.
//
// # Extending
//
// The dashboard (HTTP routes, WebSocket sync at /sync) and jobs add to a
// Server through HandleHTTP and the Tracker type's methods; Live gives the
// notifiers' owner, so a feature can publish beside the runs.
//
// # Concurrency
//
// A Server is safe for concurrent use. Close stops every goroutine it
// started and waits for them; Shutdown first lets calls in flight finish.
package server
