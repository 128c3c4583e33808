package rpc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// SiPyCo's pc_rpc protocol (banner wire.BannerSiPyCoRPC), spoken by the
// server on that banner (sipyco_server.go) and by a Client with
// ProtocolSiPyCo (sipyco_client.go). After the banner every message is one
// line of PYON v2 text ending in "\n":
//
//	S: {"targets": [...], "description": str|null, "features": ["pyon_v2"]}
//	C: "<target> pyon_v2"                  (plain text)
//	S: set of the target's method names
//	C: {"action": "call", "name": str, "args": tuple, "kwargs": dict}
//	   or {"action": "get_rpc_method_list"}
//	S: {"status": "ok", "ret": value}
//	   or {"status": "failed", "exception": {"class", "message", "traceback"}}
//
// One request is answered before the next is read; a refusal during the
// handshake is a silent close (SiPyCo has no error message there).
// docs/sipyco.md describes the mapping of names, types and errors.

// sipycoFeature is the only feature sigoco speaks: PYON v2. Without it a
// SiPyCo peer would fall back to PYON v1, which sigoco refuses.
const sipycoFeature = "pyon_v2"

// errLineTooLong is a SiPyCo line over the size limit; it has been read
// through its newline, so the next line can be read.
var errLineTooLong = errors.New("rpc: line exceeds the size limit")

// readLineLimit reads one "\n"-terminated line into buf[:0] and returns it
// without its line ending. The buffer grows only as bytes arrive; a line
// longer than limit is consumed and reported as errLineTooLong.
func readLineLimit(r *bufio.Reader, buf []byte, limit int) ([]byte, error) {
	buf = buf[:0]
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > limit+2 { // +2 for "\r\n"
				tooLong = true
				buf = buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, fmt.Errorf("%w of %d bytes", errLineTooLong, limit)
			}
			buf = buf[:len(buf)-1]
			if n := len(buf); n > 0 && buf[n-1] == '\r' {
				buf = buf[:n-1]
			}
			if len(buf) > limit {
				return nil, fmt.Errorf("%w of %d bytes", errLineTooLong, limit)
			}
			return buf, nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && (len(buf) > 0 || tooLong):
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// keepBuffer returns b for reuse, or nil when it grew too large to keep.
func keepBuffer(b []byte) []byte {
	if cap(b) > maxKeptBuffer {
		return nil
	}
	return b[:0]
}
