// Package rpc exposes Go objects over the network and calls them: a
// reflective, multi-target RPC in the spirit of SiPyCo's pc_rpc, on
// sigoco's native protocol (banner "SIGOCO rpc 1", then length-prefixed
// msgpack frames; docs/protocol-rpc.md specifies every message).
//
// # Server
//
// NewServer takes named targets. The exported methods of a target are
// found by reflection once, at registration, and are called by their
// snake_case name (SetAttenuation as set_attenuation; the Go name works
// too). Nothing else is callable: not unexported methods, not fields,
// whatever the spelling. A method may take a context.Context first — it is
// cancelled when the caller cancels, disconnects or passes its deadline —
// then any parameters that can cross the wire (not channels, functions,
// unsafe pointers or complex64; complex128 can), a variadic last one
// included, and return nothing, a value, an error, or (value, error).
// NewServer fails, naming the method and why, for any exported method
// that does not fit, and for a target with nothing to call (a value whose
// methods have pointer receivers: pass a pointer). Arguments are
// decoded straight into the parameter types; a wrong count or type is a
// *RemoteError such as
//
//	set_attenuation: argument 1: cannot use string "x" as float64
//
// Keyword arguments bind to parameters by name when the names are known
// (RegisterDoc, written by cmd/sigoco-gen) and otherwise fill the fields
// of a trailing struct parameter by snake_case name; that parameter may be
// left out entirely (its zero value is passed). A panic in a method is
// reported to the caller with its stack; the server keeps serving.
//
// Server.AddMethod and Server.RemoveMethod add funcs to a live target as
// methods (analysed, decoded, listed and documented as Go methods are) and
// take them away again, for services whose functions appear at some stage
// of their life.
//
// # Client
//
// Dial connects and selects a target; Call and CallInto call methods.
// Remote failures are *RemoteError (errors.Is(err, ErrUnknownMethod),
// ErrBadArguments, ErrValue for a method's error wrapping it), kept apart
// from transport failures, which wrap net.ErrClosed. Client.Call's doc
// lists the Go types of untyped results. BestEffortClient is for servers that may be down.
// A []int64 or []float64 argument or result travels packed (one msgpack
// extension value of little-endian words), so bulk numeric data costs a
// copy rather than per-element encoding; an untyped Call returns such a
// result as []int64 or []float64.
//
// # SiPyCo
//
// The server also speaks SiPyCo's pc_rpc, on the banner "ARTIQ pc_rpc",
// on the same listener (or wire.Mux port) and at the same time as the
// native protocol: SiPyCo's Client, AsyncioClient, BestEffortClient and
// sipyco_rpctool call a Go target as they call a Python one. Values travel
// as PYON v2 (package pyon), method names are the snake_case ones,
// get_rpc_method_list returns SiPyCo's argspecs (a trailing options
// struct's fields as keyword-only arguments), and errors become Python
// exceptions: bad arguments a TypeError, an unknown method an
// AttributeError, an error wrapping ErrValue a ValueError, an error with a
// PythonClass() string method that class when Python has it as a builtin,
// anything else GenericRemoteException("GoType: message").
//
// The client calls SiPyCo's Python servers with ClientOptions.Protocol
// set to ProtocolSiPyCo, or by itself (ProtocolAuto, the default) when the
// server closes the connection on the native banner as SiPyCo servers do.
// SiPyCo has no request ids: such a client makes one call at a time, and
// a call whose context ends returns at once and leaves its connection
// (the next call connects again). docs/sipyco.md has the details.
//
// # Concurrency
//
// A Server is safe for concurrent use. By default, calls to one target are
// serialised across all connections (SiPyCo's default; hardware drivers
// are rarely safe for concurrent use); with ServerOptions.AllowParallel
// they run concurrently, many per connection. Either way a method with a
// context parameter runs on its own goroutine, so it sees cancellation
// while it runs; a method without one, when its target is free, runs on
// the connection's reader goroutine (cancel messages and disconnects are
// noticed after it returns). With AllowParallel, a method whose call ran
// 50 µs or longer gets its own goroutine for its next calls (while they
// keep running long), and a call still running on the reader after
// about 5 ms hands the reading of the connection to a new goroutine, so
// the calls behind it start meanwhile: a quick call costs no goroutine,
// a slow one no more than one.
//
// A Client is safe for concurrent use by many goroutines; their calls are
// pipelined on one connection (over SiPyCo's protocol they take turns).
// A call alone in flight reads its own reply (no goroutine hand-off);
// under load a reader goroutine delivers replies
// and requests from many goroutines are written together. Close and
// Shutdown wait for every goroutine the package started.
package rpc
