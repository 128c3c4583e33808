// Package broadcast is SiPyCo's broadcast: one-to-many messages on named
// channels, with no state and no acknowledgement. A Broadcaster sends each
// message to every Receiver connected to its channel at that moment; a
// Receiver that connects later, or whose queue is full, does not get it
// (ARTIQ uses this for applet commands and the master's log stream).
//
// The wire protocol is SiPyCo's (sipyco.broadcast), byte for byte: the
// receiver sends the banner line "ARTIQ broadcast" and then the channel's
// name on one line; from then on the broadcaster sends one PYON v2 value per
// line and never reads. A sigoco Receiver interoperates with SiPyCo's
// Broadcaster, and SiPyCo's Receiver with a sigoco Broadcaster, which also
// serves behind a wire.Mux on a port shared with rpc, sync and logs
// (register it for wire.BannerSiPyCoBroadcast).
//
// Identity: the protocol has no message of its own for credentials. With
// Options.Auth set, a Broadcaster authenticates each receiver by its TLS
// client certificate, as SiPyCo deployments do, or by the line
// "SIGOCO token TOKEN" that sigoco's Receiver sends between the banner and
// the channel name when it has a token (SiPyCo's Receiver never sends it);
// without either, the receiver is the anonymous identity. A receiver needs
// the viewer role; one that is refused is closed without a word (SiPyCo's
// protocol has no error message).
//
// Bounds: a channel name is at most MaxChannelLen bytes; each receiver has
// a queue of at most Options.QueueLimit messages and Options.MaxQueueBytes
// bytes — a message that does not fit is dropped for that receiver (as
// SiPyCo drops on a full queue) and counted in Stats; a receiver that does
// not read for Options.WriteTimeout is disconnected. A Receiver bounds each
// line it reads (ReceiverOptions.MaxLineSize) and the decoded value
// (pyon's limits).
//
// Concurrency: a Broadcaster's methods are safe for concurrent use.
// A Receiver's Receive must not be called concurrently with itself;
// Close may be called from any goroutine and ends a blocked Receive.
package broadcast
