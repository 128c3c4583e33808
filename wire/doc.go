// Package wire holds what every sigoco protocol shares on a stream: the
// banner line that opens a connection, length-prefixed frames with a size
// limit, TLS configuration in SiPyCo's SimpleSSLConfig style, and Mux, which
// serves several protocols on one listener by dispatching on the banner.
//
// # Framing
//
// After a native banner ("SIGOCO rpc 1", "SIGOCO sync 1", "SIGOCO log 1")
// every message is a frame: a 4-byte big-endian payload length followed by
// the payload (a msgpack value). A reader checks the announced length
// against its limit before allocating anything, and grows its buffer as
// bytes actually arrive, so a peer that announces 4 GiB and sends nothing
// costs nothing.
//
// # Concurrency
//
// A Conn may be read by one goroutine and written by another; two
// concurrent readers (or two concurrent writers) must synchronise
// themselves. Mux is safe for concurrent use; register handlers before
// calling Serve.
package wire
