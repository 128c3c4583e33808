package pyon

import (
	"errors"
	"strings"
	"testing"
)

// DecodeWith: KeepOrder keeps a Python dict's key order (SiPyCo's
// JSONPYON.test_repr); Limits raise or lower the element and digit limits.
func TestDecodeWith(t *testing.T) {
	big := `{"__jsonclass__":["nparray",[[20],"|u1","` + strings.Repeat("A", 27) + "=" + `"]]}`
	for _, tt := range []struct {
		name, in string
		o        DecodeOptions
		want     any
		err      error
	}{
		{"order kept", `{"z": 1, "a": [2], "m": {"y": 1, "b": 2}}`, DecodeOptions{KeepOrder: true},
			OrderedDict{{"z", int64(1)}, {"a", []any{int64(2)}}, {"m", OrderedDict{{"y", int64(1)}, {"b", int64(2)}}}}, nil},
		{"order kept, classes as always", `[{"__jsonclass__": ["tuple", [[{"b": 1, "a": 2}]]]}]`, DecodeOptions{KeepOrder: true},
			[]any{Tuple{OrderedDict{{"b", int64(1)}, {"a", int64(2)}}}}, nil},
		{"order kept, empty", `{}`, DecodeOptions{KeepOrder: true}, OrderedDict{}, nil},
		{"order kept, other keys", `{"__jsonclass__": ["dict", [[[2, "two"], [1, "one"]]]]}`, DecodeOptions{KeepOrder: true},
			Dict{{int64(2), "two"}, {int64(1), "one"}}, nil},
		{"order kept, bad", `{"a": }`, DecodeOptions{KeepOrder: true}, nil, ErrSyntax},
		{"order kept, extra", `{"a": 1} 2`, DecodeOptions{KeepOrder: true}, nil, ErrSyntax},
		{"default: a map", `{"z": 1, "a": 2}`, DecodeOptions{}, map[string]any{"z": int64(1), "a": int64(2)}, nil},
		{"elements within the limit", big, DecodeOptions{Limits: Limits{MaxElements: 20}},
			NDArray{Shape: []int{20}, DType: "|u1", Data: make([]byte, 20)}, nil},
		{"elements over the limit", big, DecodeOptions{Limits: Limits{MaxElements: 19}}, nil, ErrLimit},
		{"digits over the limit", `123456`, DecodeOptions{Limits: Limits{MaxIntDigits: 5}}, nil, nil},
		{"big int digits over the limit", `12345678901234567890123`, DecodeOptions{Limits: Limits{MaxIntDigits: 22}}, nil, ErrLimit},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeWith([]byte(tt.in), tt.o)
			if tt.err != nil || err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if tt.want == nil {
				return
			}
			if !equal(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}
