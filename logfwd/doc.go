// Package logfwd sends log records from many programs to one log server,
// in the manner of SiPyCo's LogForwarder and logging Server.
//
// A Forwarder is a slog.Handler. Handle encodes the record and puts it in
// a bounded queue (QueueSize records, default 1000, and QueueBytes); it
// never blocks on the network and never fails. When the queue is full the
// record is dropped and counted, and once there is room again a warning
// "N records dropped" (attribute dropped=N) is queued in its place, so the
// server sees the gap where it happened (Flush and Shutdown queue it too,
// so drops are reported even when no record follows). One writer goroutine per
// Forwarder sends everything queued in one write, so records keep their
// order and many records share a system call under load.
//
// The native protocol (wire.BannerLog, "SIGOCO log 2",
// docs/protocol-log.md) carries time, level, logger name, message and the
// structured attributes (groups included; values of any other type in
// pyon's one value model, so a tuple, a set, a big int or a numpy array
// arrives as itself) in msgpack frames, and the server acknowledges what
// it has handled. The forwarder keeps records until they are acknowledged, so
// when the connection breaks (server restarted, network down) it
// reconnects with a jittered, doubling backoff and sends them again: no
// record is lost, and a record can arrive twice only if the server handled
// it but the connection broke before its acknowledgement got back. A
// server that stops acknowledging (AckTimeout) is treated as a broken
// connection. Flush waits for the acknowledgements of everything logged
// before it.
//
// NewForwarder refuses a malformed address (ErrAddress); everything else
// about the server (nothing listening, not a log server, TLS refused) is
// found out in the background and told once, as a warning with the
// reason, on ForwarderOptions.Logger.
//
// The logger name (SiPyCo's record.name) is taken from a top-level string
// attribute with key LoggerKey, else ForwarderOptions.LoggerName.
//
// A Server accepts forwarders on its own listener (TCP or TLS) or behind a
// wire.Mux (it is a wire.ConnHandler; register it for wire.BannerLog and
// wire.BannerSiPyCoLog) and re-emits every record into a slog.Handler with
// its original time and level and SourceKey and LoggerKey attributes in
// front. A forwarder that sends garbage is disconnected with a warning on
// ServerOptions.Logger and an error frame; the others keep flowing. The
// server's connections go through wire's one accept loop: at most
// MaxConns at once (a connection past it is told so and closed), an
// optional IdleTimeout (off by default: SiPyCo forwarders stay silent
// while nothing is logged; a sigoco Forwarder pings every
// HeartbeatInterval), TCP keepalive.
//
// SiPyCo's own line protocol ("ARTIQ logging") is served too, and a
// Forwarder speaks it with Protocol wire.ProtocolSiPyCo (invalid UTF-8
// replaced by U+FFFD, which SiPyCo's server needs), so Python
// LogForwarders can send to a sigoco Server and Go programs to
// artiq_ctlmgr or artiq_master.
//
// SourceFilter is SiPyCo's level rule for a process that both logs and
// receives logs: the local level applies to local records, forwarded
// records pass. Tee sends records both to a local handler and to a
// Forwarder. SiPyCo's repeatable -v/-q flags for urfave/cli programs are in
// the subpackage logfwd/logflag, so a program that only logs does not
// import a CLI framework.
//
// # Concurrency
//
// A Forwarder and the handlers derived from it with WithAttrs/WithGroup
// are safe for concurrent use; Handle only holds a short lock while it
// copies the encoded record into the queue. Close stops the writer
// goroutine and waits for it; records handled after Close are dropped.
// A Server is safe for concurrent use: Serve may run for several listeners
// and ServeConn for many connections at once, each connection on its own
// goroutine, which calls the handler (so the handler must be safe for
// concurrent use, as every slog.Handler is). Close stops them all and
// waits.
package logfwd
