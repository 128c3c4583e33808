package rpc

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/wire/auth"
)

// whoami is a target that says who called it.
type whoami struct{}

func (whoami) Name(ctx context.Context) string {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return "-"
	}
	return id.Name + "/" + id.Role.String()
}

func (whoami) Write(ctx context.Context) error { return nil }

// TestAuth: with ServerOptions.Auth, a client is served only with a
// token the access file knows, over both protocols; the identity reaches
// the method's context; Authorize refuses calls with a PermissionError
// that matches auth.ErrForbidden.
func TestAuth(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	const viewer, runner = "viewer-token-0123456789", "runner-token-0123456789"
	a, err := auth.Parse([]byte("token ann viewer " + viewer + "\ntoken bob runner " + runner))
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, transports[0], map[string]any{"who": whoami{}}, ServerOptions{
		Auth: a,
		Authorize: func(ctx context.Context, target, method string) error {
			if method == "write" {
				return auth.Require(ctx, auth.Runner, target+"."+method)
			}
			return nil
		},
	})
	for name, proto := range map[string]Protocol{"native": ProtocolNative, "sipyco": ProtocolSiPyCo} {
		t.Run(name, func(t *testing.T) {
			for _, tok := range []string{"", "wrong-token-0123456789"} {
				c, err := Dial(testCtx(t), ts.addr, "who", ClientOptions{Protocol: proto, Token: tok})
				if err == nil {
					_, err = c.Call(testCtx(t), "name")
					c.Close()
				}
				if err == nil {
					t.Fatalf("token %q: served", tok)
				}
				if proto == ProtocolNative && !errors.Is(err, auth.ErrUnauthenticated) {
					t.Fatalf("token %q: %v, want auth.ErrUnauthenticated", tok, err)
				}
				if proto == ProtocolNative && tok == "" && !strings.Contains(err.Error(), "upgrade") {
					t.Errorf("no hint for old clients: %v", err)
				}
			}
			for tok, want := range map[string]string{viewer: "ann/viewer", runner: "bob/runner"} {
				c, err := Dial(testCtx(t), ts.addr, "who", ClientOptions{Protocol: proto, Token: tok})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				var got string
				if err := c.CallInto(testCtx(t), &got, "name"); err != nil || got != want {
					t.Fatalf("name: %q, %v; want %q", got, err, want)
				}
				_, err = c.Call(testCtx(t), "write")
				if tok == viewer && (!errors.Is(err, auth.ErrForbidden) || !strings.Contains(err.Error(), "PermissionError")) {
					t.Fatalf("viewer write: %v, want auth.ErrForbidden", err)
				}
				if tok == runner && err != nil {
					t.Fatalf("runner write: %v", err)
				}
			}
		})
	}
	t.Run("env", func(t *testing.T) {
		t.Setenv(auth.EnvToken, runner)
		c, err := Dial(testCtx(t), ts.addr, "who", ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Call(testCtx(t), "write"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAuthAnonymous: the access file's anonymous role serves clients
// without a token, on both protocols.
func TestAuthAnonymous(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	a, err := auth.Parse([]byte("anonymous viewer\ntoken bob runner runner-token-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, transports[0], map[string]any{"who": whoami{}}, ServerOptions{Auth: a})
	for name, proto := range map[string]Protocol{"native": ProtocolNative, "sipyco": ProtocolSiPyCo} {
		c, err := Dial(testCtx(t), ts.addr, "who", ClientOptions{Protocol: proto})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got string
		if err := c.CallInto(testCtx(t), &got, "name"); err != nil || got != "anonymous/viewer" {
			t.Errorf("%s: %q, %v", name, got, err)
		}
		c.Close()
	}
}
