package track

import (
	"context"
	"fmt"
)

// ShutdownServer asks the tracking server to shut down gracefully, as on
// SIGTERM (SimplyPy's ServerCom.shutdown_server): calls in flight finish,
// open runs stay open (their clients spool until a server is back). It
// needs the admin role: a viewer's or runner's call fails with an error
// wrapping auth.ErrForbidden. It returns once the server has accepted the
// request, before it has stopped.
func (rd *Reader) ShutdownServer(ctx context.Context) error {
	return rd.c.CallInto(ctx, nil, "shutdown_server")
}

// ShutdownServer connects to the tracking server at addr ("" for the
// default, as in Options.Addr) and calls Reader.ShutdownServer.
func ShutdownServer(ctx context.Context, addr string, opts OpenOptions) error {
	rd, err := Open(ctx, addr, opts)
	if err != nil {
		return err
	}
	defer rd.Close()
	if err := rd.ShutdownServer(ctx); err != nil {
		return fmt.Errorf("track: shutdown_server: %w", err)
	}
	return nil
}
