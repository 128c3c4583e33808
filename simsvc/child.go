package simsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/sigoco/sigoco/track"
)

// ServeChild serves svc in a program started by Spawn, and is meant for
// its main function: it serves the listener the parent handed over
// (EnvListenerFD) until SIGTERM or SIGINT, the parent's end of stdin
// closing, or ctx ending; then it stops a simulation still under way
// (stop, terminate_sim=True, as SimService's close_service does), lets
// the calls in flight finish (up to 5 s), and returns. Started without
// Spawn, it listens on 127.0.0.1 at a port the kernel picks (or at
// $SIGOCO_SIMSVC_LISTEN) and writes "simsvc: serving NAME on ADDR" to
// stderr, so that it can be run by hand and driven with Dial or rpctool.
// With $SIGOCO_SIMSVC_TRACK (EnvTrack) set to a tracking server's address,
// and neither opts.Track nor opts.Recorder set, the service is a tracked
// run there (Options.Track, Addr from the variable); the run reaches the
// server before ServeChild returns (within the 5 s). With
// $SIGOCO_SIMSVC_NAME (EnvName, set by SpawnOptions.Name and Manager) the
// service is served under that name instead of opts.Name.
func ServeChild(ctx context.Context, svc Service, opts Options) error {
	if name := os.Getenv(EnvName); name != "" {
		opts.Name = name
	}
	if addr := os.Getenv(EnvTrack); addr != "" && opts.Track == nil && opts.Recorder == nil {
		opts.Track = &track.Options{Addr: addr}
	}
	ln, err := childListener()
	if err != nil {
		return err
	}
	s, err := NewServer(svc, opts)
	if err != nil {
		ln.Close()
		return err
	}
	defer s.Close()
	if os.Getenv(EnvListenerFD) == "" {
		fmt.Fprintf(os.Stderr, "simsvc: serving %s on %s\n", s.opts.Name, ln.Addr())
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if os.Getenv(EnvWatchStdin) == "1" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() { // ends with the process: a read of stdin cannot be interrupted
			io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(context.Background(), ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if st := s.Status(); st != StatusRegistered && !st.Ended() {
		if serr := s.stop(sctx, true); serr != nil && !errors.Is(serr, ErrState) {
			s.opts.Logger.Warn("simsvc: stopping the simulation", "err", serr)
		}
	}
	s.Shutdown(sctx)
	if err == nil {
		err = <-errc
	}
	return err
}

// childListener finds the listener Spawn handed over, or makes one.
func childListener() (net.Listener, error) {
	v := os.Getenv(EnvListenerFD)
	if v == "" {
		addr := os.Getenv("SIGOCO_SIMSVC_LISTEN")
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("simsvc: %w", err)
		}
		return ln, nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("simsvc: %s=%q is not a file descriptor Spawn hands over", EnvListenerFD, v)
	}
	f := os.NewFile(uintptr(fd), "simsvc-listener")
	if f == nil {
		return nil, fmt.Errorf("simsvc: %s=%d: no such file descriptor", EnvListenerFD, fd)
	}
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("simsvc: the listener handed over (%s=%d): %w", EnvListenerFD, fd, err)
	}
	return ln, nil
}
