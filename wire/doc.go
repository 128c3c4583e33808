// Package wire holds what every sigoco protocol shares on a stream: the
// banner line that opens a connection, length-prefixed frames with a size
// limit, TLS configuration in SiPyCo's SimpleSSLConfig style, and Mux, which
// serves several protocols on one listener by dispatching on the banner.
//
// # Framing
//
// After a native banner ("SIGOCO rpc 2", "SIGOCO sync 2", "SIGOCO log 2")
// every message is a frame: a 4-byte big-endian payload length followed by
// the payload (a msgpack value). Encoder is the one frame writer and
// FrameReader the one (resumable) frame reader; Chunker cuts a large
// snapshot into chunk frames. A reader checks the announced length
// against its limit before allocating anything, and grows its buffer as
// bytes actually arrive, so a peer that announces 4 GiB and sends nothing
// costs nothing.
//
// # Serving
//
// AcceptLoop is the one accept loop: servers and Mux share its tracking of
// listeners, connections and goroutines, its MaxConns, IdleTimeout, TCP
// keepalive and TLS handshake (ServerHandshake, which answers a plaintext
// client in plaintext). HandshakeTimeout bounds the TLS handshake and the
// banner together (HandshakeDeadline). MaxConns and MaxConnsPerAddr
// refuse connections past them in words the peer can read (a line, or an
// HTTP 503). A Mux's zero options already cap its connections (below the
// open-file limit, and per peer address) and give its HTTP server header,
// request and idle timeouts (HTTPOptions). Mux.Shutdown is graceful; Close and
// cancelling Serve's context are hard stops.
//
// # Client certificates
//
// Where TLS requires client certificates, AcceptLoop (and so Mux) checks
// them itself after the handshake, and refuses one it does not trust by
// what the peer sends next: after a SiPyCo banner it closes the
// connection without a word, as SiPyCo's servers do; after a native
// banner it says so in one line, which Dial's connections read as an
// error wrapping ErrTLSClientCertUntrusted (or ErrTLSClientCertMissing);
// either way the peer is served nothing and the refusal is logged at Warn
// (see AcceptOptions.TLS).
//
// # Concurrency
//
// A Conn may be read by one goroutine and written by another; two
// concurrent readers (or two concurrent writers) must synchronise
// themselves. Mux and AcceptLoop are safe for concurrent use; register
// handlers before calling Serve. Encoder, FrameReader and Chunker are
// not: one per goroutine (or per lock).
package wire
