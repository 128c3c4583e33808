package auth

import (
	"context"
	"errors"
	"fmt"
)

// Errors. A server sends their text to a refused peer, and sigoco's
// clients turn that text back into the sentinel (FromMessage), so
// errors.Is works on both sides of the wire.
var (
	// ErrUnauthenticated: the connection's credential is missing, unknown
	// or not trusted, and the anonymous identity has no rights.
	ErrUnauthenticated = errors.New("auth: unauthenticated")
	// ErrForbidden: the identity is known but its role does not allow
	// the operation.
	ErrForbidden = errors.New("auth: forbidden")
	// ErrAccessFile: an access file cannot be used.
	ErrAccessFile = errors.New("auth: bad access file")
)

// Role is what an identity may do. Roles are ordered: each one may do
// what the one below it may.
type Role int8

const (
	// None may do nothing; an identity with it is refused.
	None Role = iota
	// Viewer reads and subscribes.
	Viewer
	// Runner also starts runs, writes them, forwards logs, launches jobs.
	Runner
	// Admin may do everything.
	Admin
)

var roleNames = [...]string{None: "none", Viewer: "viewer", Runner: "runner", Admin: "admin"}

// String is the role's name in the access file.
func (r Role) String() string {
	if r >= 0 && int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// ParseRole parses a role's name (none, viewer, runner, admin).
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if s == n {
			return Role(r), nil
		}
	}
	return None, fmt.Errorf("auth: unknown role %q (none, viewer, runner or admin)", truncate(s, 20))
}

// Method is how an identity was authenticated.
type Method string

const (
	MethodToken       Method = "token"       // a bearer token
	MethodBasic       Method = "basic"       // HTTP basic auth
	MethodCertificate Method = "certificate" // a TLS client certificate
	MethodAnonymous   Method = "anonymous"   // no credential
)

// Identity is who a connection is.
type Identity struct {
	Name   string // from the access file; "anonymous" without a credential
	Role   Role
	Method Method
}

// Allows reports whether id's role is at least r.
func (id Identity) Allows(r Role) bool { return id.Role >= r && id.Role > None }

// String is "name (role, by method)", for logs.
func (id Identity) String() string {
	return fmt.Sprintf("%s (%s, by %s)", id.Name, id.Role, id.Method)
}

// Require returns nil if the identity in ctx may act as role r, an error
// wrapping ErrForbidden if it may not, and nil when ctx holds no identity
// (an in-process caller, or a server without an Authenticator).
func Require(ctx context.Context, r Role, what string) error {
	id, ok := FromContext(ctx)
	if !ok || id.Allows(r) {
		return nil
	}
	return fmt.Errorf("%w: %s needs the %s role; %s is %s", ErrForbidden, what, r, truncate(id.Name, 64), id.Role)
}

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity a server put in ctx; ok is false when
// there is none.
func FromContext(ctx context.Context) (id Identity, ok bool) {
	id, ok = ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

// FromMessage returns the sentinel (ErrUnauthenticated, ErrForbidden)
// that an error message received from a server starts with, or nil.
func FromMessage(msg string) error {
	for _, e := range []error{ErrUnauthenticated, ErrForbidden} {
		if containsWord(msg, e.Error()) {
			return e
		}
	}
	return nil
}

func containsWord(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i:i+len(w)] == w && (i == 0 || s[i-1] == ' ' || s[i-1] == '(') {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// MessageError is an error whose text is msg, a refusal a server sent,
// and which wraps the sentinel msg names (FromMessage), if any.
func MessageError(msg string) error {
	return &messageError{msg, FromMessage(msg)}
}

type messageError struct {
	msg string
	is  error
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.is }
