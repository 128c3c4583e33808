package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/sigoco/sigoco/wire"
)

// NewClientConn is Dial over a connection the caller already has (one it
// accepted, or a net.Pipe): it writes the native banner, reads the hello
// and selects target (the only one the server has if target is "",
// ErrAmbiguousTarget if it has several), with the errors of Dial. ctx
// bounds the handshake (opts.HandshakeTimeout when ctx has no deadline).
//
// The Client owns conn: Close closes it, and so does NewClientConn when
// it fails. Nothing is redialled: once conn is lost, calls fail with an
// error wrapping ErrClosed, as a dialled client's do. Only the native
// protocol is spoken (opts.Protocol ProtocolAuto or ProtocolNative), and
// conn is used as it is: opts.TLS must be nil (pass a *tls.Conn for
// TLS). A *wire.Conn is used with its buffered reader, so bytes already
// buffered in it are not lost. Only opts.Token is sent ($SIGOCO_TOKEN is
// not read).
func NewClientConn(ctx context.Context, conn net.Conn, target string, opts ClientOptions) (*Client, error) {
	if conn == nil {
		return nil, errors.New("rpc: NewClientConn needs a connection, got nil")
	}
	if opts.Protocol == ProtocolSiPyCo || opts.TLS != nil {
		conn.Close()
		return nil, errors.New("rpc: NewClientConn speaks the native protocol over conn as it is (no SiPyCo protocol, no ClientOptions.TLS: pass a *tls.Conn)")
	}
	tok := opts.Token
	opts = opts.withDefaults()
	opts.Token = tok // not $SIGOCO_TOKEN: the peer may be anyone (a run's expose connection)
	addr := "connection"
	if ra := conn.RemoteAddr(); ra != nil {
		addr = ra.String()
	}
	wc := wire.NewConn(conn)
	c := newNativeClient(wc, addr, opts)
	err := c.handshakeIO(ctx, func() error {
		if err := wire.WriteBanner(wc, wire.BannerRPC); err != nil {
			return fmt.Errorf("rpc: handshake with %s: %w", addr, err)
		}
		return c.readHello()
	})
	if err != nil {
		wc.Close()
		return nil, err
	}
	return c.selectOrClose(ctx, target)
}

// Wait blocks until the client's connection ends and returns the error
// calls then fail with (it wraps ErrClosed; Close ends it too), or until
// ctx ends (ctx.Err()). A client reads its connection only while calls
// are in flight, so an idle one notices a lost connection at its next
// call; while a Wait is in progress a reader goroutine reads all the
// time, so the loss is noticed at once (and each reply is handed to its
// caller by that goroutine, a few microseconds more per call). Meant for
// a server that holds a client to a peer, such as one of NewClientConn.
// Wait is safe to call from many goroutines, and with calls in flight.
// On a client of SiPyCo's protocol it returns an error at once.
func (c *Client) Wait(ctx context.Context) error {
	if c.sp != nil {
		return fmt.Errorf("rpc: Wait: %w for SiPyCo's protocol", errors.ErrUnsupported)
	}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.watchers++
	if !c.reading {
		c.reading = true
		c.readers.Add(1)
		go c.readLoop()
	}
	c.mu.Unlock()
	// A leader reading its own reply hands the role to a reader
	// goroutine when it is done (handOverLocked counts watchers), and the
	// reader goroutine keeps reading while watchers > 0.
	var err error
	select {
	case <-c.lost:
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.mu.Lock()
	c.watchers--
	if err == nil {
		err = c.err
	}
	c.mu.Unlock()
	return err
}
