package wire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Banners that open a connection. The native ones carry a protocol version;
// the ARTIQ ones are SiPyCo's and are answered in SiPyCo's own protocol.
//
// Version 2 carries sigoco's one value model (docs/protocol.md): version 1
// peers are refused with a line naming the version this side speaks.
const (
	BannerRPC  = "SIGOCO rpc " + ProtocolVersion
	BannerSync = "SIGOCO sync " + ProtocolVersion
	BannerLog  = "SIGOCO log " + ProtocolVersion

	BannerSiPyCoRPC  = "ARTIQ pc_rpc"
	BannerSiPyCoSync = "ARTIQ sync_struct"
	BannerSiPyCoLog  = "ARTIQ logging"
	// BannerSiPyCoBroadcast opens a SiPyCo broadcast Receiver's
	// connection (package broadcast).
	BannerSiPyCoBroadcast = "ARTIQ broadcast"

	// BannerExpose opens the connection a tracked run dials to the
	// tracking server to offer its exposed objects (package track): after
	// this banner line the roles swap, the server speaks as an rpc client
	// (BannerRPC first) and the run serves the objects with an rpc server
	// on the connection it dialled, so no port is opened in the
	// simulation. The run's rpc server Description is the JSON object
	// {"run": RUN_ID, "name": OBJECT_NAME} (store.ExposeHello).
	BannerExpose = "SIGOCO track-expose 1"
)

// ProtocolVersion is the version of the native protocols, the last word of
// their banners.
const ProtocolVersion = "2"

// nativeBanners maps a native protocol's name to its banner.
var nativeBanners = map[string]string{"rpc": BannerRPC, "sync": BannerSync, "log": BannerLog}

// otherVersion reports whether line is a native banner of another version
// than this side's ("SIGOCO rpc 1"), and returns this side's banner for it.
func otherVersion(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "SIGOCO" || f[2] == ProtocolVersion || strings.Join(f, " ") != line {
		return "", false
	}
	b, ok := nativeBanners[f[1]]
	return b, ok
}

// BannerMismatch explains why a server refuses banner, for a server's
// "SIGOCO error: …" line: "unknown banner \"…\"", and for a native banner
// of another version, which version this side speaks.
func BannerMismatch(banner string) string { return unknownBannerReason(banner) }

// MaxBannerLen is the longest banner line accepted, newline excluded. It is
// large enough for an HTTP request line, which Mux also dispatches on.
const MaxBannerLen = 4096

// WriteBanner writes banner followed by a newline in one write.
func WriteBanner(w io.Writer, banner string) error {
	_, err := io.WriteString(w, banner+"\n")
	return err
}

// ReadLine reads one newline-terminated line of at most max bytes and
// returns it without the line ending ("\n" or "\r\n"). It never buffers more
// than max bytes: a longer line is ErrLineTooLong. A stream that ends before
// the newline returns io.ErrUnexpectedEOF (io.EOF if nothing was read).
func ReadLine(r *bufio.Reader, max int) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max+2 { // +2 for "\r\n"
			return "", fmt.Errorf("%w (limit %d bytes)", ErrLineTooLong, max)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
			if len(line) > max {
				return "", fmt.Errorf("%w (limit %d bytes)", ErrLineTooLong, max)
			}
			return string(line), nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(line) > 0:
			return "", io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
}

// PeekLine returns the first line buffered in r without consuming it, using
// at most r's buffer size. It is what Mux uses to choose a handler while
// leaving the banner for the handler itself to read.
func PeekLine(r *bufio.Reader) (string, error) {
	for n := 1; ; n++ {
		b, err := r.Peek(n)
		if err != nil {
			if err == bufio.ErrBufferFull {
				return "", fmt.Errorf("%w (limit %d bytes)", ErrLineTooLong, r.Size())
			}
			if err == io.EOF && len(b) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		// Look at everything already buffered before asking for more.
		all, _ := r.Peek(r.Buffered())
		if i := bytes.IndexByte(all, '\n'); i >= 0 {
			return strings.TrimSuffix(string(all[:i]), "\r"), nil
		}
		if r.Buffered() > n {
			n = r.Buffered()
		}
	}
}
