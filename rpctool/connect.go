package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sigoco/sigoco/rpc"
)

// dial connects to addr without selecting a target, within
// --connect-timeout.
func (t *tool) dial(ctx context.Context, addr string) (*rpc.Client, error) {
	opts := rpc.ClientOptions{Token: t.token}
	if t.sipyco {
		opts.Protocol = rpc.ProtocolSiPyCo
	}
	if t.tls.Enabled() || t.forceTLS {
		host, _, _ := net.SplitHostPort(addr)
		cfg, err := t.tls.Client(host)
		if err != nil {
			return nil, err // a file that cannot be read: exit 3 like other TLS failures
		}
		opts.TLS = cfg
	}
	ctx, cancel := withTimeout(ctx, t.connectTimeout, "connecting to "+addr)
	defer cancel()
	c, err := rpc.DialNoSelect(ctx, addr, opts)
	if err != nil {
		if err = timeoutErr(ctxErr(ctx, err), t.connectTimeout, "connecting to "+addr); !isCtxCause(err) {
			err = fmt.Errorf("connecting to %s: %w", addr, err)
		}
		return nil, err
	}
	if !t.sipyco && c.Protocol() == rpc.ProtocolSiPyCo && !t.noted && !t.completing && !t.out.json {
		// Say so once: the fallback costs a connection, and a reader of
		// the output may wonder which protocol answered.
		t.noted = true
		fmt.Fprintf(t.out.stderr, "rpctool: note: %s closed the connection on sigoco's handshake; speaking SiPyCo's pc_rpc (--sipyco skips the first attempt)\n", addr)
	}
	return c, nil
}

// isCtxCause reports whether err is an interrupt or a timeout of ours,
// which already say what happened.
func isCtxCause(err error) bool {
	var te *timeoutError
	return errors.Is(err, errInterrupted) || errors.As(err, &te)
}

// pickTarget chooses the target to select: want if the server has it, or
// the only one.
func pickTarget(targets []string, want string) (string, error) {
	switch {
	case want != "":
		if !slices.Contains(targets, want) {
			return "", &unknownError{what: "target", name: want, known: targets}
		}
		return want, nil
	case len(targets) == 1:
		return targets[0], nil
	case len(targets) == 0:
		return "", errors.New("the server has no targets")
	}
	return "", usagef("the server has several targets (%s): choose one with -t TARGET", strings.Join(targets, ", "))
}

// connect dials addr and selects the target (want, or the only one).
func (t *tool) connect(ctx context.Context, addr, want string) (*rpc.Client, error) {
	c, err := t.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if err := t.selectTarget(ctx, c, want); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (t *tool) selectTarget(ctx context.Context, c *rpc.Client, want string) error {
	name, err := pickTarget(c.Targets(), want)
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx, t.connectTimeout, "selecting target "+name)
	defer cancel()
	if err := c.SelectTarget(ctx, name); err != nil {
		if err = timeoutErr(ctxErr(ctx, err), t.connectTimeout, "selecting target "+name); !isCtxCause(err) {
			err = fmt.Errorf("selecting target %s: %w", name, err)
		}
		return err
	}
	return nil
}

// callMethod calls method within --timeout.
func (t *tool) callMethod(ctx context.Context, c *rpc.Client, method string, a callArgs) (any, error) {
	ctx, cancel := withTimeout(ctx, t.timeout, "calling "+method)
	defer cancel()
	v, err := c.Call(ctx, method, a.values(func(m map[string]any) any { return rpc.Kwargs(m) })...)
	return v, timeoutErr(ctxErr(ctx, err), t.timeout, "calling "+method)
}

// listMethods fetches the target's methods within --timeout.
func (t *tool) methodList(ctx context.Context, c *rpc.Client) (*rpc.TargetInfo, error) {
	ctx, cancel := withTimeout(ctx, t.timeout, "listing methods")
	defer cancel()
	info, err := c.ListMethods(ctx)
	return info, timeoutErr(ctxErr(ctx, err), t.timeout, "listing methods")
}

// timeoutErr names our time limit when the deadline we set shows up
// before our timer fires: the server reports it passed, or a socket
// deadline derived from it expired.
func timeoutErr(err error, d time.Duration, what string) error {
	var te *timeoutError
	if d > 0 && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)) && !errors.As(err, &te) {
		return &timeoutError{what: what, d: d}
	}
	return err
}
