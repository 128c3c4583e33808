package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/urfave/cli/v2"
)

// Exit codes, listed in --help.
const (
	exitOK          = 0   // success
	exitRemote      = 1   // the remote method failed (or, in a script, a line failed)
	exitUsage       = 2   // bad flag, bad literal, arguments the method refused
	exitConnection  = 3   // connection, TLS or protocol failure
	exitUnknown     = 4   // unknown target or method
	exitTimeout     = 5   // --timeout or --connect-timeout expired
	exitInterrupted = 130 // interrupted (Ctrl-C)
)

const exitCodesHelp = `EXIT CODES:
   0    success
   1    the remote method failed (script mode: a line failed)
   2    usage error: bad flag or command line, ill-formed literal,
        or arguments the method does not accept (a SiPyCo server
        reports those as a remote TypeError: 1)
   3    connection, TLS or protocol failure
   4    unknown target or method
   5    timed out (--timeout, --connect-timeout)
   130  interrupted (Ctrl-C)`

// usageError is a mistake on the command line (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// unknownError is a target or method the server does not have (exit 4).
type unknownError struct {
	what  string // "target" or "method"
	name  string
	known []string
}

func (e *unknownError) Error() string {
	if len(e.known) == 0 {
		return fmt.Sprintf("unknown %s %q", e.what, e.name)
	}
	return fmt.Sprintf("unknown %s %q (the server has: %s)", e.what, e.name, strings.Join(e.known, ", "))
}

// errInterrupted is the cause of a context cancelled by Ctrl-C.
var errInterrupted = errors.New("interrupted")

// timeoutError is the cause of a context whose time limit passed.
type timeoutError struct {
	what string // "connecting to HOST:PORT", "calling METHOD"
	d    time.Duration
}

func (e *timeoutError) Error() string { return fmt.Sprintf("timed out after %v %s", e.d, e.what) }

// Is makes errors.Is(err, context.DeadlineExceeded) hold.
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// withTimeout bounds ctx by d (no bound when d <= 0); the context's cause
// tells what timed out.
func withTimeout(ctx context.Context, d time.Duration, what string) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, &timeoutError{what: what, d: d})
}

// ctxErr replaces err by the reason ctx ended (interrupt, timeout) when
// err was caused by that.
func ctxErr(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	var re *rpc.RemoteError
	if errors.As(err, &re) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return err // a genuine remote failure that raced with the deadline
	}
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		return cause
	}
	return err
}

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	var (
		re  *rpc.RemoteError
		ue  *usageError
		ae  *argError
		le  *literalError
		uk  *unknownError
		ec  cli.ExitCoder
		te  *timeoutError
		nte interface{ Timeout() bool }
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &ue), errors.As(err, &ae), errors.As(err, &le), errors.Is(err, rpc.ErrAmbiguousTarget):
		return exitUsage
	case errors.As(err, &uk), errors.Is(err, rpc.ErrUnknownMethod):
		return exitUnknown
	case errors.Is(err, rpc.ErrBadArguments):
		return exitUsage
	case errors.As(err, &te), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return exitTimeout
	case errors.As(err, &re):
		return exitRemote
	case errors.As(err, &nte) && nte.Timeout():
		return exitTimeout
	case errors.As(err, &ec):
		return exitUsage // urfave/cli's own errors, e.g. "No help topic for ..."
	}
	return exitConnection
}

// errorKind names an exit code in JSON error output.
func errorKind(code int) string {
	switch code {
	case exitRemote:
		return "remote"
	case exitUsage:
		return "usage"
	case exitUnknown:
		return "unknown"
	case exitTimeout:
		return "timeout"
	case exitInterrupted:
		return "interrupted"
	}
	return "connection"
}
