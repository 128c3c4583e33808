package broadcast

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// DefaultMaxLineSize is ReceiverOptions.MaxLineSize when left 0: SiPyCo's
// Receiver's stream limit.
const DefaultMaxLineSize = 100 << 20

// ReceiverOptions configures a Receiver. The zero value works.
type ReceiverOptions struct {
	// TLS, if set, connects over TLS (with a client certificate when it
	// holds one).
	TLS *tls.Config
	// Token is sent in a "SIGOCO token" line before the channel name (see
	// the package doc). Default: $SIGOCO_TOKEN; none when that is empty.
	// Send a token only to a sigoco Broadcaster: SiPyCo's would take the
	// line for the channel name.
	Token string
	// MaxLineSize bounds one message's line; a longer one ends the
	// connection with ErrBadMessage. Default DefaultMaxLineSize.
	MaxLineSize int
	// Limits bound a message's decoded value (pyon.DecodeOptions).
	// Default: pyon.DefaultLimits.
	Limits pyon.Limits
}

// Receiver receives the messages of one channel.
type Receiver struct {
	conn    *wire.Conn
	channel string
	br      *bufio.Reader
	opts    ReceiverOptions

	closeOnce sync.Once
	closed    chan struct{}
}

// Dial connects to the broadcaster at addr (host:port) as a receiver of
// channel. ctx bounds the connection and the handshake only.
func Dial(ctx context.Context, addr, channel string, opts ReceiverOptions) (*Receiver, error) {
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	if opts.Token == "" {
		opts.Token = os.Getenv(auth.EnvToken)
	}
	if opts.MaxLineSize <= 0 {
		opts.MaxLineSize = DefaultMaxLineSize
	}
	c, err := wire.Dial(ctx, addr, opts.TLS, wire.BannerSiPyCoBroadcast)
	if err != nil {
		return nil, fmt.Errorf("broadcast: %w", err)
	}
	hello := channel + "\n"
	if opts.Token != "" {
		hello = tokenLinePrefix + opts.Token + "\n" + hello
	}
	if d, ok := ctx.Deadline(); ok {
		c.SetWriteDeadline(d)
	}
	if _, err := io.WriteString(c, hello); err != nil {
		c.Close()
		return nil, fmt.Errorf("broadcast: %w", err)
	}
	c.SetWriteDeadline(timeZero)
	return &Receiver{conn: c, channel: channel, br: bufio.NewReaderSize(c.R, 64<<10), opts: opts, closed: make(chan struct{})}, nil
}

// Channel returns the channel r receives.
func (r *Receiver) Channel() string { return r.channel }

// Receive returns the next message. It returns io.EOF when the
// broadcaster closed the connection, ErrClosed after Close, ctx's error
// when ctx ends first (the connection is then closed: a line may have
// been half read), ErrBadMessage for a line that is not a PYON value
// within the limits, and the connection's error otherwise (a refused
// receiver sees io.EOF or a reset: SiPyCo's protocol has no error
// message). After an error, every later call returns an error.
func (r *Receiver) Receive(ctx context.Context) (any, error) {
	stop := context.AfterFunc(ctx, func() { r.conn.Close() })
	defer stop()
	line, err := wire.ReadLine(r.br, r.opts.MaxLineSize)
	if err != nil {
		select {
		case <-r.closed:
			return nil, ErrClosed
		default:
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, wire.ErrLineTooLong) {
			r.conn.Close()
			return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, io.EOF // a message cut by the broadcaster's close
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, ErrClosed
		}
		return nil, err
	}
	v, err := pyon.DecodeWith([]byte(line), pyon.DecodeOptions{Limits: r.opts.Limits})
	if err != nil {
		r.conn.Close()
		return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	return v, nil
}

// Close closes the connection; a blocked Receive returns ErrClosed. It is
// idempotent.
func (r *Receiver) Close() error {
	r.closeOnce.Do(func() { close(r.closed) })
	err := r.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

var timeZero time.Time
