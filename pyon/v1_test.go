package pyon

import (
	"errors"
	"testing"
)

func TestIsV1(t *testing.T) {
	// Lines as SiPyCo's pyon_v1.encode writes them.
	v1 := []string{
		`{"action": "call", "name": "set_attenuation", "args": (5.5, ), "kwargs": {}}`,
		`{"status": "ok", "ret": None}`,
		`{"status": "ok", "ret": True}`,
		`[False]`,
		`{"x": b'\x00\xff'}`,
		`{"x": 1j}`,
		`{"x": (1+2j)}`,
		`[nan, inf]`,
		`{"x": Fraction(1, 3)}`,
		`{"x": nparray((2,), "<f8", "AAAA")}`,
		`{'a': 1}`,
		`{1, 2}`, // a set literal has no colon, but its items decide nothing: see below
	}
	for _, l := range v1[:len(v1)-1] {
		if !IsV1([]byte(l)) {
			t.Errorf("IsV1(%s) = false", l)
		}
		if _, err := DecodeString(l); !errors.Is(err, ErrV1) {
			t.Errorf("Decode(%s) = %v, want ErrV1", l, err)
		}
	}
	for _, l := range []string{
		`{"action": "get_rpc_method_list"}`,
		`{"s": "None (True) b'x' 1j nan"}`,
		`[true, false, null, 1e5, -1.5E-3, Infinity, NaN]`,
		`{"__jsonclass__":["tuple",[[1]]]}`,
		`{"s": "\"(None"}`,
	} {
		if IsV1([]byte(l)) {
			t.Errorf("IsV1(%s) = true", l)
		}
	}
	if ErrV1.Error() == "" || !contains(ErrV1.Error(), "PYON v1 is not supported") {
		t.Errorf("ErrV1 = %q", ErrV1)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
