package dashboard

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// ErrAuthFile: the access file cannot be used.
var ErrAuthFile = errors.New("dashboard: bad access file")

// TokenCookie is the cookie that carries a token once a browser opened a
// page with ?token=.
const TokenCookie = "sigoco_token"

// Auth guards a handler with the tokens and user:password pairs of an
// access file. Its zero value lets nobody in; use LoadAuth or ParseAuth.
type Auth struct {
	tokens [][32]byte          // sha256 of each token
	users  map[string][32]byte // user → sha256 of the password
}

// LoadAuth reads an access file: one entry a line, blank lines and lines
// starting with # ignored:
//
//	token SECRET           a bearer token (Authorization: Bearer SECRET, or ?token=SECRET once)
//	basic USER:PASSWORD    HTTP basic auth
//
// The file should be readable by its owner only; LoadAuth refuses one that
// others may read (mode & 0o077 != 0).
func LoadAuth(path string) (*Auth, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuthFile, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s may be read by others (mode %v; chmod 600 it)", ErrAuthFile, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuthFile, err)
	}
	return ParseAuth(b)
}

// ParseAuth parses the contents of an access file (see LoadAuth).
func ParseAuth(b []byte) (*Auth, error) {
	a := &Auth{users: map[string][32]byte{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		kind, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch kind {
		case "token":
			if len(rest) < 16 || strings.ContainsAny(rest, " \t") {
				return nil, fmt.Errorf("%w: line %d: a token is one word of at least 16 characters", ErrAuthFile, n)
			}
			a.tokens = append(a.tokens, sha256.Sum256([]byte(rest)))
		case "basic":
			user, pw, ok := strings.Cut(rest, ":")
			if !ok || user == "" || pw == "" {
				return nil, fmt.Errorf("%w: line %d: want basic USER:PASSWORD", ErrAuthFile, n)
			}
			a.users[user] = sha256.Sum256([]byte(pw))
		default:
			return nil, fmt.Errorf("%w: line %d: unknown entry %q (token or basic)", ErrAuthFile, n, truncate(kind, 20))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuthFile, err)
	}
	if len(a.tokens) == 0 && len(a.users) == 0 {
		return nil, fmt.Errorf("%w: no token and no user", ErrAuthFile)
	}
	return a, nil
}

func (a *Auth) tokenOK(tok string) bool {
	if tok == "" {
		return false
	}
	h := sha256.Sum256([]byte(tok))
	ok := 0
	for _, t := range a.tokens {
		ok |= subtle.ConstantTimeCompare(h[:], t[:])
	}
	return ok == 1
}

func (a *Auth) basicOK(user, pw string) bool {
	want, found := a.users[user]
	h := sha256.Sum256([]byte(pw))
	return subtle.ConstantTimeCompare(h[:], want[:]) == 1 && found
}

// Allowed reports whether r carries a valid credential: a bearer token, the
// token cookie, or basic auth.
func (a *Auth) Allowed(r *http.Request) bool {
	if a == nil {
		return false
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") && a.tokenOK(strings.TrimPrefix(h, "Bearer ")) {
		return true
	}
	if c, err := r.Cookie(TokenCookie); err == nil && a.tokenOK(c.Value) {
		return true
	}
	if u, p, ok := r.BasicAuth(); ok && a.basicOK(u, p) {
		return true
	}
	return false
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
		if a.Allowed(r) {
			next.ServeHTTP(w, r)
			return
		}
		if len(a.users) > 0 {
			w.Header().Set("WWW-Authenticate", `Basic realm="sigoco", charset="UTF-8"`)
		}
		http.Error(w, "dashboard: unauthorized (a token or a user is required; see docs/dashboard.md)", http.StatusUnauthorized)
	})
}
