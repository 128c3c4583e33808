package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
)

// Credentials are what a connection presented.
type Credentials struct {
	// Token is a bearer token ("" when none was sent).
	Token string
	// User and Password are HTTP basic auth ("" when none).
	User, Password string
	// Certificates is the TLS client certificate chain, leaf first (nil
	// without TLS or without a certificate). An Access verifies it
	// against its own pool; it trusts nothing because a server passed it.
	Certificates []*x509.Certificate
	// Remote is the peer's address (for "anonymous ROLE loopback").
	Remote net.Addr
}

// Authenticator turns credentials into an identity. It returns an error
// wrapping ErrUnauthenticated, and never an identity with role None,
// when the connection may not be served. Implementations are safe for
// concurrent use.
type Authenticator interface {
	Authenticate(c Credentials) (Identity, error)
}

// Everyone is the Authenticator of a server without an access file: every
// connection is the anonymous identity with Role (trackd on loopback uses
// Admin: the local user may do everything). Credentials are ignored.
type Everyone struct{ Role Role }

// Authenticate implements Authenticator.
func (e Everyone) Authenticate(Credentials) (Identity, error) {
	if e.Role <= None {
		return Identity{}, fmt.Errorf("%w: this server serves nobody", ErrUnauthenticated)
	}
	return Identity{Name: "anonymous", Role: e.Role, Method: MethodAnonymous}, nil
}

// AtLeast returns an Authenticator that refuses, with ErrForbidden, the
// identities of a whose role is below r (e.g. logs: runners only).
func AtLeast(a Authenticator, r Role, what string) Authenticator {
	return atLeast{a, r, what}
}

type atLeast struct {
	a    Authenticator
	r    Role
	what string
}

func (m atLeast) Authenticate(c Credentials) (Identity, error) {
	id, err := m.a.Authenticate(c)
	if err == nil && !id.Allows(m.r) {
		return Identity{}, fmt.Errorf("%w: %s needs the %s role; %s is %s", ErrForbidden, m.what, m.r, truncate(id.Name, 64), id.Role)
	}
	return id, err
}

// Access is a parsed access file (see Parse). It implements
// Authenticator. Its zero value lets nobody in. It is safe for concurrent
// use once built (Add and SetClientCAs before sharing it).
type Access struct {
	tokens  []tokenEntry
	users   map[string]userEntry
	certs   []certEntry
	anon    Role
	anonLo  bool // anon applies to loopback peers only
	pool    *x509.CertPool
	hasUser bool
}

type tokenEntry struct {
	hash [32]byte
	id   Identity
}

type userEntry struct {
	hash [32]byte
	id   Identity
}

type certEntry struct {
	kind, value string // cn, dns, email, uri, ip
	id          Identity
}

// Limits of the access file.
const (
	MinTokenLen   = 16      // characters of a token written in clear
	maxAccessFile = 1 << 20 // bytes
	maxLine       = 4096
)

// Load reads an access file (see Parse). The file should be readable by
// its owner only; Load refuses one that others may read (mode & 0o077).
func Load(path string) (*Access, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessFile, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s may be read by others (mode %v; chmod 600 it)", ErrAccessFile, path, fi.Mode().Perm())
	}
	if fi.Size() > maxAccessFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrAccessFile, path, maxAccessFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessFile, err)
	}
	return Parse(b)
}

// Parse parses an access file: one entry a line, words separated by
// spaces or tabs, blank lines and lines starting with # ignored.
//
//	token SECRET                    an admin named "admin" (today's line)
//	basic USER:PASSWORD             an admin named USER, by HTTP basic auth (today's line)
//	token NAME ROLE SECRET          NAME with ROLE, by bearer token
//	token NAME ROLE sha256:HEX      the same, the file holding only the token's hash
//	basic NAME ROLE PASSWORD        NAME with ROLE, by HTTP basic auth (or sha256:HEX)
//	cert NAME ROLE KIND:VALUE       a trusted TLS client certificate whose subject
//	                                common name (cn:), DNS SAN (dns:), e-mail SAN
//	                                (email:), URI SAN (uri:) or IP SAN (ip:) is VALUE
//	anonymous ROLE [loopback]       what a connection without a credential may do
//	                                (default none; "loopback": only from loopback)
//
// ROLE is none, viewer, runner or admin. A SECRET in clear is one word of
// at least MinTokenLen characters. A certificate is trusted only if it
// verifies against the pool given to SetClientCAs (trackd's
// --tls-peer-cert).
func Parse(b []byte) (*Access, error) {
	if len(b) > maxAccessFile {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrAccessFile, maxAccessFile)
	}
	a := &Access{users: map[string]userEntry{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 256), maxLine)
	entries := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := a.parseLine(strings.Fields(line)); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrAccessFile, n, err)
		}
		entries++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAccessFile, err)
	}
	if entries == 0 {
		return nil, fmt.Errorf("%w: no entry", ErrAccessFile)
	}
	return a, nil
}

func (a *Access) parseLine(w []string) error {
	switch {
	case w[0] == "token" && len(w) == 2:
		if len(w[1]) < MinTokenLen {
			return fmt.Errorf("a token is one word of at least %d characters", MinTokenLen)
		}
		a.tokens = append(a.tokens, tokenEntry{sha256.Sum256([]byte(w[1])), Identity{Name: "admin", Role: Admin, Method: MethodToken}})
		return nil
	case w[0] == "basic" && len(w) == 2:
		user, pw, ok := strings.Cut(w[1], ":")
		if !ok || user == "" || pw == "" {
			return fmt.Errorf("want basic USER:PASSWORD")
		}
		return a.addUser(user, Admin, sha256.Sum256([]byte(pw)))
	case w[0] == "anonymous" && (len(w) == 2 || len(w) == 3 && w[2] == "loopback"):
		r, err := ParseRole(w[1])
		if err != nil {
			return err
		}
		a.anon, a.anonLo = r, len(w) == 3
		return nil
	case (w[0] == "token" || w[0] == "basic" || w[0] == "cert") && len(w) == 4:
		name, cred := w[1], w[3]
		if err := checkName(name); err != nil {
			return err
		}
		r, err := ParseRole(w[2])
		if err != nil {
			return err
		}
		id := Identity{Name: name, Role: r}
		switch w[0] {
		case "token":
			h, err := secretHash(cred)
			if err != nil {
				return err
			}
			id.Method = MethodToken
			a.tokens = append(a.tokens, tokenEntry{h, id})
		case "basic":
			h, err := secretHash(cred)
			if err != nil {
				return err
			}
			return a.addUser(name, r, h)
		case "cert":
			kind, value, ok := strings.Cut(cred, ":")
			switch kind {
			case "cn", "dns", "email", "uri", "ip":
			default:
				ok = false
			}
			if !ok || value == "" {
				return fmt.Errorf("want cert NAME ROLE KIND:VALUE, KIND one of cn, dns, email, uri, ip")
			}
			id.Method = MethodCertificate
			a.certs = append(a.certs, certEntry{kind, value, id})
		}
		return nil
	}
	return fmt.Errorf("unknown entry %q with %d words (token, basic, cert, anonymous; see the package doc)", truncate(w[0], 20), len(w))
}

func (a *Access) addUser(name string, r Role, h [32]byte) error {
	if _, dup := a.users[name]; dup {
		return fmt.Errorf("user %q twice", truncate(name, 64))
	}
	a.users[name] = userEntry{h, Identity{Name: name, Role: r, Method: MethodBasic}}
	a.hasUser = true
	return nil
}

func checkName(name string) error {
	if len(name) > 64 {
		return fmt.Errorf("a name is at most 64 bytes")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.@", c)) {
			return fmt.Errorf("a name is letters, digits and -_.@")
		}
	}
	return nil
}

// secretHash is the SHA-256 of a secret in clear, or the hash written as
// sha256:HEX.
func secretHash(s string) ([32]byte, error) {
	var h [32]byte
	if hx, ok := strings.CutPrefix(s, "sha256:"); ok {
		if len(hx) != 64 {
			return h, fmt.Errorf("sha256: wants 64 hex digits")
		}
		if _, err := hex.Decode(h[:], []byte(hx)); err != nil {
			return h, fmt.Errorf("sha256: wants 64 hex digits")
		}
		return h, nil
	}
	if len(s) < MinTokenLen {
		return h, fmt.Errorf("a secret is one word of at least %d characters (or sha256:HEX)", MinTokenLen)
	}
	return sha256.Sum256([]byte(s)), nil
}

// AddToken adds a token for id (trackd's own clients: the dashboard, jobs).
// Call it before a is shared.
func (a *Access) AddToken(token string, id Identity) {
	id.Method = MethodToken
	a.tokens = append(a.tokens, tokenEntry{sha256.Sum256([]byte(token)), id})
}

// SetClientCAs sets the pool client certificates must verify against to
// be mapped by cert lines (trackd's --tls-peer-cert). Without it no
// certificate is trusted. Call it before a is shared.
func (a *Access) SetClientCAs(pool *x509.CertPool) { a.pool = pool }

// HasUsers reports whether the file has basic-auth users (the HTTP
// challenge is sent then).
func (a *Access) HasUsers() bool { return a != nil && a.hasUser }

// Anonymous is the role of a connection without a credential from remote.
func (a *Access) Anonymous(remote net.Addr) Role {
	if a.anonLo && !IsLoopback(remote) {
		return None
	}
	return a.anon
}

// Authenticate implements Authenticator: a token, else a user, else a
// certificate, else the anonymous identity. A credential that was
// presented and is wrong is refused; it never falls back to anonymous.
func (a *Access) Authenticate(c Credentials) (Identity, error) {
	if a == nil {
		return Identity{}, fmt.Errorf("%w: no access file", ErrUnauthenticated)
	}
	switch {
	case c.Token != "":
		if id, ok := a.token(c.Token); ok {
			return a.usable(id)
		}
		return Identity{}, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	case c.User != "":
		h := sha256.Sum256([]byte(c.Password))
		e, found := a.users[c.User]
		if subtle.ConstantTimeCompare(h[:], e.hash[:]) == 1 && found {
			return a.usable(e.id)
		}
		return Identity{}, fmt.Errorf("%w: unknown user or wrong password", ErrUnauthenticated)
	case len(c.Certificates) > 0:
		return a.cert(c.Certificates)
	}
	if r := a.Anonymous(c.Remote); r > None {
		return Identity{Name: "anonymous", Role: r, Method: MethodAnonymous}, nil
	}
	return Identity{}, fmt.Errorf("%w: no credential (send a token, e.g. SIGOCO_TOKEN, or a TLS client certificate; the anonymous identity may do nothing here)", ErrUnauthenticated)
}

func (a *Access) usable(id Identity) (Identity, error) {
	if id.Role <= None {
		return Identity{}, fmt.Errorf("%w: %s has no rights", ErrUnauthenticated, truncate(id.Name, 64))
	}
	return id, nil
}

// token finds the entry of tok, comparing its hash with every entry.
func (a *Access) token(tok string) (Identity, bool) {
	h := sha256.Sum256([]byte(tok))
	found := -1
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(h[:], a.tokens[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Identity{}, false
	}
	return a.tokens[found].id, true
}

func (a *Access) cert(chain []*x509.Certificate) (Identity, error) {
	if a.pool == nil {
		return Identity{}, fmt.Errorf("%w: client certificates are not trusted here (no CA pool)", ErrUnauthenticated)
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: a.pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return Identity{}, fmt.Errorf("%w: client certificate not trusted", ErrUnauthenticated)
	}
	for _, e := range a.certs {
		if certMatches(leaf, e.kind, e.value) {
			return a.usable(e.id)
		}
	}
	return Identity{}, fmt.Errorf("%w: client certificate %q is in no cert line of the access file", ErrUnauthenticated, truncate(leaf.Subject.CommonName, 64))
}

func certMatches(c *x509.Certificate, kind, value string) bool {
	switch kind {
	case "cn":
		return c.Subject.CommonName == value
	case "dns":
		for _, n := range c.DNSNames {
			if strings.EqualFold(n, value) {
				return true
			}
		}
	case "email":
		for _, n := range c.EmailAddresses {
			if strings.EqualFold(n, value) {
				return true
			}
		}
	case "uri":
		for _, u := range c.URIs {
			if u.String() == value {
				return true
			}
		}
	case "ip":
		ip := net.ParseIP(value)
		for _, n := range c.IPAddresses {
			if ip != nil && n.Equal(ip) {
				return true
			}
		}
	}
	return false
}
