package server

import (
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

func TestParseCredential(t *testing.T) {
	run := "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	tok := newCredential(run)
	if got, ok := parseCredential(tok); !ok || got != run {
		t.Fatalf("parseCredential(%q) = %q, %v", tok, got, ok)
	}
	if newCredential(run) == tok {
		t.Fatal("two credentials alike")
	}
	for _, bad := range []string{
		"", "sgr1.", "sgr1." + run, "sgr1." + run + ".", tok[:len(tok)-1], tok + "A",
		"sgr1.../etc." + tok[len(tok)-43:], "sgr2." + tok[5:], "token-of-the-access-file-0123",
	} {
		if r, ok := parseCredential(bad); ok {
			t.Errorf("parseCredential(%q) = %q, true", bad, r)
		}
	}
}

// FuzzParseCredential: what parses names a valid run id, and the
// credential is exactly that run's.
func FuzzParseCredential(f *testing.F) {
	f.Add(newCredential("sweep-12"))
	f.Add("sgr1.a.b")
	f.Fuzz(func(t *testing.T, tok string) {
		run, ok := parseCredential(tok)
		if !ok {
			return
		}
		if store.CheckRunID(run) != nil || !strings.HasPrefix(tok, credentialPrefix+run+".") || len(tok) != len(credentialPrefix)+len(run)+44 {
			t.Fatalf("parseCredential(%q) = %q", tok, run)
		}
	})
}
