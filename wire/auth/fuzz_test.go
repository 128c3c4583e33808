package auth

import (
	"testing"
	"time"
)

// FuzzParse: any input is parsed or refused with ErrAccessFile, in time
// proportional to its size, and a parsed file authenticates without
// panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"token 0123456789abcdef0123\nbasic bob:hunter22",
		"token alice runner sha256:" + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"cert lab runner cn:lab\nanonymous viewer loopback",
		"basic erin viewer erin-password-123\n# x\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		a, err := Parse(b)
		if d := time.Since(start); d > time.Second+time.Duration(len(b))*10*time.Microsecond {
			t.Fatalf("Parse of %d bytes took %v", len(b), d)
		}
		if err != nil {
			return
		}
		id, err := a.Authenticate(Credentials{Token: string(b), Remote: lo})
		if err == nil && id.Role <= None {
			t.Fatalf("identity without a role: %v", id)
		}
		if id, err := a.Authenticate(Credentials{Remote: remote}); err == nil && id.Role <= None {
			t.Fatalf("anonymous without a role: %v", id)
		}
	})
}
