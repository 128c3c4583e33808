package dashboard

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// ErrAuthFile: the access file cannot be used (it is auth.ErrAccessFile).
var ErrAuthFile = auth.ErrAccessFile

// TokenCookie is the cookie that carries a token once a browser opened a
// page with ?token=.
const TokenCookie = "sigoco_token"

// Auth guards a handler with the credentials of an access file
// (auth.Parse documents the format): every request that gets through
// carries its identity in its context (auth.FromContext). Its zero value
// lets nobody in; use LoadAuth, ParseAuth or NewAuth.
type Auth struct {
	a *auth.Access
}

// NewAuth guards with a parsed access file (the one trackd also gives its
// other protocols).
func NewAuth(a *auth.Access) *Auth { return &Auth{a: a} }

// LoadAuth reads an access file (auth.Load): one entry a line, blank
// lines and lines starting with # ignored. Today's two lines keep their
// meaning, and are admins:
//
//	token SECRET           a bearer token (Authorization: Bearer SECRET, or ?token=SECRET once)
//	basic USER:PASSWORD    HTTP basic auth
//
// The file should be readable by its owner only; LoadAuth refuses one that
// others may read (mode & 0o077 != 0).
func LoadAuth(path string) (*Auth, error) {
	a, err := auth.Load(path)
	if err != nil {
		return nil, err
	}
	return &Auth{a: a}, nil
}

// ParseAuth parses the contents of an access file (see LoadAuth).
func ParseAuth(b []byte) (*Auth, error) {
	a, err := auth.Parse(b)
	if err != nil {
		return nil, err
	}
	return &Auth{a: a}, nil
}

func (a *Auth) tokenOK(tok string) bool {
	if a == nil || tok == "" {
		return false
	}
	_, err := a.a.Authenticate(auth.Credentials{Token: tok})
	return err == nil
}

// Identity returns the identity of r's credential: a bearer token, the
// token cookie, basic auth, or none (the anonymous identity, as the access
// file grants it to r's remote address).
func (a *Auth) Identity(r *http.Request) (auth.Identity, error) {
	if a == nil {
		return auth.Identity{}, auth.ErrUnauthenticated
	}
	c := auth.Credentials{Remote: remoteAddr(r)}
	if r.TLS != nil {
		c.Certificates = r.TLS.PeerCertificates
	} else if conn := wire.HTTPConn(r.Context()); conn != nil {
		c.Certificates = auth.PeerCertificates(conn) // behind a wire.Mux
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		c.Token = strings.TrimPrefix(h, "Bearer ")
	} else if ck, err := r.Cookie(TokenCookie); err == nil && ck.Value != "" {
		c.Token = ck.Value
	} else if u, p, ok := r.BasicAuth(); ok {
		c.User, c.Password = u, p
	}
	return a.a.Authenticate(c)
}

func remoteAddr(r *http.Request) net.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// Allowed reports whether r carries a valid credential: a bearer token, the
// token cookie, or basic auth.
func (a *Auth) Allowed(r *http.Request) bool {
	_, err := a.Identity(r)
	return err == nil
}

// Wrap returns next guarded by a. A GET with a valid ?token= sets the
// token cookie (HttpOnly, SameSite=Strict, Secure under TLS) and redirects
// to the same URL without it, so the token leaves the address bar. Other
// requests without a credential get 401 (with a basic-auth challenge when
// the file has users).
func (a *Auth) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		if tok := r.URL.Query().Get("token"); tok != "" && r.Method == http.MethodGet && a.tokenOK(tok) {
			http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			u := *r.URL
			q := u.Query()
			q.Del("token")
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if id, err := a.Identity(r); err == nil {
			next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), id)))
			return
		}
		if a.a.HasUsers() {
			w.Header().Set("WWW-Authenticate", `Basic realm="sigoco", charset="UTF-8"`)
		}
		http.Error(w, "dashboard: unauthorized (a token or a user is required; see docs/dashboard.md)", http.StatusUnauthorized)
	})
}
