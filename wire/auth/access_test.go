package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

var (
	lo     = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	remote = &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 1}
)

func TestParseAndAuthenticate(t *testing.T) {
	alice := NewToken()
	a, err := Parse([]byte(strings.Join([]string{
		"# a comment",
		"token 0123456789abcdef0123",
		"basic bob:hunter22",
		"token alice runner " + HashToken(alice),
		"token carol viewer carol-secret-0123456",
		"token dave none dave-secret-0123456789",
		"basic erin viewer erin-password-123",
		"cert lab runner cn:lab-pc",
		"anonymous viewer loopback",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    Credentials
		want Identity
		err  error
	}{
		{"legacy token", Credentials{Token: "0123456789abcdef0123"}, Identity{"admin", Admin, MethodToken}, nil},
		{"legacy basic", Credentials{User: "bob", Password: "hunter22"}, Identity{"bob", Admin, MethodBasic}, nil},
		{"hashed token", Credentials{Token: alice}, Identity{"alice", Runner, MethodToken}, nil},
		{"clear token", Credentials{Token: "carol-secret-0123456"}, Identity{"carol", Viewer, MethodToken}, nil},
		{"role none", Credentials{Token: "dave-secret-0123456789"}, Identity{}, ErrUnauthenticated},
		{"basic with role", Credentials{User: "erin", Password: "erin-password-123"}, Identity{"erin", Viewer, MethodBasic}, nil},
		{"wrong password", Credentials{User: "erin", Password: "x"}, Identity{}, ErrUnauthenticated},
		{"unknown user", Credentials{User: "mallory", Password: "x"}, Identity{}, ErrUnauthenticated},
		{"wrong token", Credentials{Token: "nope-nope-nope-nope", Remote: lo}, Identity{}, ErrUnauthenticated},
		{"anonymous loopback", Credentials{Remote: lo}, Identity{"anonymous", Viewer, MethodAnonymous}, nil},
		{"anonymous remote", Credentials{Remote: remote}, Identity{}, ErrUnauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.Authenticate(tc.c)
			if !errors.Is(err, tc.err) || id != tc.want {
				t.Fatalf("got %v, %v; want %v, %v", id, err, tc.want, tc.err)
			}
			if err != nil && tc.c.Token != "" && strings.Contains(err.Error(), tc.c.Token) {
				t.Fatalf("error repeats the token: %v", err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"# only a comment",
		"token short",
		"basic nocolon",
		"token alice superuser alice-secret-01234567",
		"token alice runner sha256:abc",
		"token al/ice runner alice-secret-01234567",
		"cert lab runner xx:lab",
		"cert lab runner cn:",
		"anonymous root",
		"anonymous viewer everywhere",
		"basic erin viewer p1\nbasic erin admin p2-0123456789abcdef",
		"frobnicate x",
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrAccessFile) {
			t.Errorf("Parse(%q) = %v, want ErrAccessFile", in, err)
		}
	}
}

func TestCertificates(t *testing.T) {
	ca, caKey := newCert(t, "ca", nil, nil)
	leaf, _ := newCert(t, "lab-pc", ca, caKey)
	other, _ := newCert(t, "stranger", ca, caKey)
	selfSigned, _ := newCert(t, "lab-pc", nil, nil)
	a, err := Parse([]byte("cert lab runner cn:lab-pc\ncert box viewer dns:box.lab"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(Credentials{Certificates: []*x509.Certificate{leaf}}); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("without a pool: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	a.SetClientCAs(pool)
	id, err := a.Authenticate(Credentials{Certificates: []*x509.Certificate{leaf}})
	if err != nil || id != (Identity{"lab", Runner, MethodCertificate}) {
		t.Fatalf("trusted: %v, %v", id, err)
	}
	box, err := a.Authenticate(Credentials{Certificates: []*x509.Certificate{other}})
	if !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("unmapped: %v %v", box, err)
	}
	if _, err := a.Authenticate(Credentials{Certificates: []*x509.Certificate{selfSigned}}); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("untrusted: %v", err)
	}
}

func newCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, BasicConstraintsValid: true, IsCA: parent == nil,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func TestEveryoneAtLeastRequire(t *testing.T) {
	id, err := Everyone{Role: Admin}.Authenticate(Credentials{Token: "whatever"})
	if err != nil || id.Role != Admin {
		t.Fatal(id, err)
	}
	if _, err := (Everyone{}).Authenticate(Credentials{}); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal(err)
	}
	if _, err := AtLeast(Everyone{Role: Viewer}, Runner, "logging").Authenticate(Credentials{}); !errors.Is(err, ErrForbidden) {
		t.Fatal(err)
	}
	ctx := NewContext(context.Background(), Identity{"v", Viewer, MethodToken})
	if err := Require(ctx, Runner, "log_batch"); !errors.Is(err, ErrForbidden) || FromMessage("rpc: "+err.Error()) != ErrForbidden {
		t.Fatal(err)
	}
	if err := Require(context.Background(), Admin, "x"); err != nil {
		t.Fatal("no identity in ctx is an in-process caller:", err)
	}
	if FromMessage("rpc: "+ErrUnauthenticated.Error()+": x") != ErrUnauthenticated || FromMessage("fine") != nil {
		t.Fatal("FromMessage")
	}
}

func TestIsLoopback(t *testing.T) {
	if !IsLoopback(lo) || IsLoopback(remote) || IsLoopback(nil) || !IsLoopback(&net.TCPAddr{IP: net.IPv6loopback}) {
		t.Fatal("IsLoopback")
	}
}
