package simsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Environment variables by which Spawn hands the child its listener.
const (
	EnvListenerFD = "SIGOCO_SIMSVC_FD"    // the listener's file descriptor in the child
	EnvAddr       = "SIGOCO_SIMSVC_ADDR"  // its address, for the child's information
	EnvWatchStdin = "SIGOCO_SIMSVC_STDIN" // "1": stdin is a pipe from the parent; its EOF means the parent is gone
)

// SpawnOptions configures Spawn. The zero value is valid.
type SpawnOptions struct {
	// Dial configures the proxy (its Logger also receives the child's
	// output).
	Dial DialOptions
	// Grace is how long Close waits after SIGTERM before it kills the
	// child. Default 5 s.
	Grace time.Duration
	// Track, if set, is the address of a tracking server: the child gets
	// it as $SIGOCO_SIMSVC_TRACK (EnvTrack), and ServeChild serves the
	// service as a tracked run there. Default "": the child decides
	// (EnvTrack from the parent's environment is passed on).
	Track string
	// Name, if set, is the name the child serves under: it gets it as
	// $SIGOCO_SIMSVC_NAME (EnvName), which ServeChild prefers to
	// Options.Name. Manager.Spawn sets it to the unique process name.
	// Default "": the child's own Options.Name.
	Name string
}

// Spawn starts cmd (not yet started) as a service process and returns
// its proxy. The parent listens (on 127.0.0.1, a port the kernel picks)
// and hands the listener to the child as an extra file
// (EnvListenerFD), so that no port is fixed and none can be taken in
// between; the child serves it with ServeChild. The child's stdout and
// stderr, unless cmd sets them, are forwarded line by line to
// SpawnOptions.Dial.Logger (info and warn records with stream and pid
// attributes); its stdin, unless set, is a pipe whose end tells the child
// that the parent is gone. Proxy.Close ends the child: SIGTERM (the child
// stops the simulation and exits), then SIGKILL after Grace. A child that
// dies is reported as such: Spawn, the proxy's calls and WaitFor return an
// error wrapping ErrChildExited, an *ExitError with its exit status and
// last lines of stderr, instead of waiting. ctx bounds the start and the
// connection only; the child lives until Proxy.Close (or its own end).
func Spawn(ctx context.Context, cmd *exec.Cmd, opts SpawnOptions) (*Proxy, error) {
	if cmd == nil || cmd.Process != nil {
		return nil, errors.New("simsvc: Spawn needs a command not yet started")
	}
	if opts.Grace <= 0 {
		opts.Grace = 5 * time.Second
	}
	log := opts.Dial.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		opts.Dial.Logger = log
	}
	ch := &child{cmd: cmd, grace: opts.Grace, exited: make(chan struct{})}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("simsvc: listening for the child: %w", err)
	}
	f, err := ln.File()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("simsvc: listening for the child: %w", err)
	}
	addr := ln.Addr().String()
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	fd := 2 + len(cmd.ExtraFiles)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", EnvListenerFD, fd), EnvAddr+"="+addr)
	if opts.Track != "" {
		cmd.Env = append(cmd.Env, EnvTrack+"="+opts.Track)
	}
	if opts.Name != "" {
		cmd.Env = append(cmd.Env, EnvName+"="+opts.Name)
	}
	if cmd.Stdin == nil {
		if ch.stdin, err = cmd.StdinPipe(); err == nil {
			cmd.Env = append(cmd.Env, EnvWatchStdin+"=1")
		}
	}
	if cmd.Stdout == nil {
		cmd.Stdout = &lineLog{log: log, stream: "stdout", level: slog.LevelInfo}
	}
	ch.stderr = &lineLog{log: log, stream: "stderr", level: slog.LevelWarn, keep: 20}
	if cmd.Stderr == nil {
		cmd.Stderr = ch.stderr
	}
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 2 * time.Second // a grandchild holding the pipes cannot hang Wait
	}
	err = cmd.Start()
	f.Close()
	ln.Close() // the child holds the listener now; once it exits, dials are refused
	if err != nil {
		return nil, fmt.Errorf("simsvc: starting the service: %w", err)
	}
	pid := cmd.Process.Pid
	for _, w := range []any{cmd.Stdout, cmd.Stderr} {
		if l, ok := w.(*lineLog); ok {
			l.pid = pid
		}
	}
	go func() {
		ch.waitErr = cmd.Wait()
		close(ch.exited)
	}()

	// Dial, giving up when the child dies first.
	dctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-ch.exited:
			cancel()
		case <-dctx.Done():
		}
	}()
	p, err := Dial(dctx, addr, opts.Dial)
	dialErr := dctx.Err()
	cancel()
	if err != nil {
		// A child that dies resets the connection: report its exit, once
		// Wait has seen it.
		if exit := ch.exitedWithin(time.Second); exit != nil {
			return nil, exit
		}
		if dialErr != nil && ctx.Err() == nil {
			err = ch.exitError()
		}
		ch.stop()
		return nil, err
	}
	p.child = ch
	return p, nil
}

// ExitError reports a spawned service process that ended.
type ExitError struct {
	Pid    int
	Err    error  // from exec.Cmd.Wait: an *exec.ExitError with the status, or nil for status 0
	Stderr string // the last lines the child wrote to stderr (when Spawn captured it)
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("simsvc: service process %d exited", e.Pid)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	} else {
		msg += " with status 0"
	}
	if e.Stderr != "" {
		msg += "; its stderr ended with:\n" + e.Stderr
	}
	return msg
}

// Unwrap returns ErrChildExited and Err.
func (e *ExitError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrChildExited}
	}
	return []error{ErrChildExited, e.Err}
}

// child is a spawned service process.
type child struct {
	cmd    *exec.Cmd
	grace  time.Duration
	stdin  interface{ Close() error }
	stderr *lineLog

	exited  chan struct{} // closed when Wait has returned
	waitErr error         // set before exited is closed

	stopOnce  sync.Once
	signalled bool // written by stop before it waits on exited
}

func (c *child) exitError() error {
	<-c.exited
	return &ExitError{Pid: c.cmd.Process.Pid, Err: c.waitErr, Stderr: c.stderr.tail()}
}

// exitedWithin returns the child's exit if it exits within d, or nil.
func (c *child) exitedWithin(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.exited:
		return c.exitError()
	case <-t.C:
		return nil
	}
}

// stop ends the child: stdin closed and SIGTERM, SIGKILL after the grace
// period. It returns nil when the child exited with status 0 or from the
// SIGTERM, else its *ExitError.
func (c *child) stop() error {
	var err error
	c.stopOnce.Do(func() {
		if c.stdin != nil {
			c.stdin.Close()
		}
		select {
		case <-c.exited:
		default:
			c.signalled = true
			c.cmd.Process.Signal(syscall.SIGTERM)
			t := time.NewTimer(c.grace)
			select {
			case <-c.exited:
			case <-t.C:
				c.cmd.Process.Kill()
				<-c.exited
			}
			t.Stop()
		}
		var ee *exec.ExitError
		switch {
		case c.waitErr == nil:
		case c.signalled && errors.As(c.waitErr, &ee) && !ee.Exited():
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signal() == syscall.SIGTERM {
				break
			}
			err = c.exitError()
		default:
			err = c.exitError()
		}
	})
	return err
}

// lineLog forwards a child's output to a logger, one record per line,
// keeping the last keep lines.
type lineLog struct {
	log    *slog.Logger
	stream string
	level  slog.Level
	keep   int
	pid    int

	mu   sync.Mutex // guards buf and last
	buf  []byte
	last []string
}

// maxLine bounds a line kept in memory; longer ones are cut.
const maxLine = 64 << 10

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			room := maxLine - len(l.buf)
			if len(b) > room {
				l.buf = append(l.buf, b[:room]...)
				l.emitLocked()
				b = b[room:]
				continue
			}
			l.buf = append(l.buf, b...)
			break
		}
		l.buf = append(l.buf, b[:i]...)
		b = b[i+1:]
		l.emitLocked()
	}
	return n, nil
}

func (l *lineLog) emitLocked() {
	line := strings.TrimRight(string(l.buf), "\r")
	l.buf = l.buf[:0]
	l.log.Log(context.Background(), l.level, line, "stream", l.stream, "pid", l.pid)
	if l.keep > 0 {
		l.last = append(l.last, line)
		if len(l.last) > l.keep {
			l.last = l.last[1:]
		}
	}
}

func (l *lineLog) tail() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.last
	if len(l.buf) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(l.buf))
	}
	return strings.Join(lines, "\n")
}
