package syncstruct

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sigoco/sigoco/wire"
)

// serveSiPyCo serves a SiPyCo Subscriber (ARTIQ's dashboards and tools)
// on c, whose "ARTIQ sync_struct" banner has been read: it reads the
// notifier name line and then runs an ordinary session whose messages are
// SiPyCo's PYON lines. SiPyCo has no error message: a subscriber asking
// for an unknown notifier is just disconnected, as SiPyCo's Publisher
// does (and a warning is logged here).
func (p *Publisher) serveSiPyCo(ctx context.Context, c *wire.Conn, hs func() bool) error {
	name, err := wire.ReadLine(c.R, maxSubscribeSize)
	if err != nil {
		return fmt.Errorf("syncstruct: reading the SiPyCo notifier name: %w", err)
	}
	// sigoco's tools may send a token line first (docs/protocol-sync.md);
	// SiPyCo's Subscriber never does.
	var token string
	rest, hasToken := strings.CutPrefix(name, tokenLinePrefix)
	if hasToken {
		token = rest
	}
	if hasToken {
		if name, err = wire.ReadLine(c.R, maxSubscribeSize); err != nil {
			return fmt.Errorf("syncstruct: reading the SiPyCo notifier name: %w", err)
		}
	}
	if ctx, err = p.authenticate(ctx, c, token); err != nil {
		return err // SiPyCo has no error message: closed, as SiPyCo would
	}
	p.mu.Lock()
	_, ok := p.notifiers[name]
	p.mu.Unlock()
	if !ok {
		p.opts.Logger.Warn("syncstruct: SiPyCo subscriber asked for an unknown notifier; closing the connection, as SiPyCo does",
			"notifier", truncate(name, 64), "remote", c.RemoteAddr().String(), "serves", p.Names())
		return fmt.Errorf("%w: %q", ErrUnknownNotifier, truncate(name, 64))
	}
	t := &sipycoTransport{newFrameTransport(c, 0, 0)}
	defer t.close()
	return p.serveSession(ctx, t, &message{Notifier: name}, hs)
}

// tokenLinePrefix starts the line in which sigoco's tools send a token
// over SiPyCo's protocol, before the notifier name.
const tokenLinePrefix = "SIGOCO token "

// sipycoTransport carries SiPyCo's sync_struct on a stream: the init and
// each mod as one PYON line (encSiPyCo), and nothing else. SiPyCo has
// no control messages (no sync or synced marker, no heartbeat, no error
// message): they encode to nothing. A subscriber that falls behind gets a
// fresh init line on the same connection, which SiPyCo's Subscriber takes
// as a new replica (it calls its target builder again).
type sipycoTransport struct{ *frameTransport }

// readMsg discards what the subscriber sends (SiPyCo's Subscriber sends
// nothing after the notifier name, and SiPyCo's Publisher reads nothing)
// and returns when the connection ends.
func (t *sipycoTransport) readMsg() ([]byte, error) {
	_, err := io.Copy(io.Discard, t.r)
	if err == nil {
		err = io.EOF
	}
	return nil, err
}

func (t *sipycoTransport) chunkedInit() bool         { return false }
func (t *sipycoTransport) encoding() modEncoding     { return encSiPyCo }
func (t *sipycoTransport) control(c *control) []byte { return nil }

// pings: SiPyCo's peers send no heartbeats (they rely on TCP keepalive),
// so a silent subscriber is not dropped.
func (t *sipycoTransport) pings() bool { return false }

func (t *sipycoTransport) buffered() bool { return false }
