// Package dashboard is the tracking server's web dashboard: a static app
// (plain ES modules, uPlot for charts, no build step) embedded with
// go:embed, and one HTTP JSON endpoint, POST /api/call, that maps one to
// one onto calls of the rpc target "tracker" or, with "target": "jobs", of
// the jobs target (track/jobs).
//
// The dashboard is an http.Handler placed in front of the tracking
// server's own handler (track/server: /sync, /artifacts/, /runs/...):
//
//	GET  /, /index.html   the app (the URL hash names the view and its filters)
//	GET  /static/...      its modules, styles, uPlot (vendored, MIT) and replica.js
//	POST /api/call        {"target": t, "method": m, "args": [...], "kwargs": {...}} → t.m(...) (t: tracker, the default, or jobs)
//	anything else         Options.Next (404 when nil)
//
// Live data never comes from polling: the browser keeps replicas of the
// syncstruct notifiers "runs" and "run/ID" over the server's WebSocket at
// /sync (JSON text messages), with syncstruct's browser replica module
// (syncstruct.WebReplicaJS, served at /static/replica.js). docs/dashboard.md specifies the call endpoint.
//
// # Host check and headers
//
// HostCheck refuses, with 421 Misdirected Request, a request whose Host
// header is not a name of this server (loopback names with its port, the
// listening address, the names of HostOptions.Public): the defence
// against DNS rebinding, which an Origin-equals-Host check alone lets
// through. trackd wraps everything it serves in it. Every response of a
// Handler, Options.Next's included, carries CSP, nosniff and no framing
// (docs/security.md).
//
// # Access control
//
// LoadAuth reads tokens and user:password pairs from a file; Auth.Wrap
// guards a handler (the dashboard and everything behind it) with a bearer
// token, a cookie set from ?token=, or HTTP basic auth.
//
// # Concurrency
//
// A Handler is safe for concurrent use; it starts no goroutines.
package dashboard
