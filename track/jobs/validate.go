package jobs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/sigoco/sigoco/track/store"
)

// ErrInvalidInput is wrapped by every *InputError (errors.Is); over rpc
// the message names the port.
var ErrInvalidInput = errors.New("jobs: invalid input")

// InputError lists what is wrong with the inputs of a job that was not
// created, one entry per port.
type InputError struct {
	Solver   string
	Problems []PortProblem

	remote error // the *rpc.RemoteError it was read from, on the client side
}

// PortProblem is one port's fault.
type PortProblem struct {
	Port   string `msgpack:"port" json:"port"`
	Reason string `msgpack:"reason" json:"reason"`
}

func (e *InputError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "jobs: invalid inputs for %s:", e.Solver)
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " input %q: %s", p.Port, p.Reason)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalidInput) hold, and, for an error
// the Client read from the wire, errors.As(err, **rpc.RemoteError).
func (e *InputError) Unwrap() []error {
	if e.remote != nil {
		return []error{ErrInvalidInput, e.remote}
	}
	return []error{ErrInvalidInput}
}

// FileRef is a file given to or made by a job: an artifact's content in
// the store, by sha256.
type FileRef struct {
	Sha256      string `msgpack:"sha256" json:"sha256"`
	Filename    string `msgpack:"filename" json:"filename"`
	Size        int64  `msgpack:"size" json:"size"`
	ContentType string `msgpack:"content_type,omitempty" json:"content_type,omitempty"`
}

func (f FileRef) value() map[string]any {
	m := map[string]any{"sha256": f.Sha256, "filename": f.Filename, "size": f.Size}
	if f.ContentType != "" {
		m["content_type"] = f.ContentType
	}
	return m
}

var shaRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// coerce checks v against a non-file port's type and range and returns it
// in its canonical Go type (int64, float64, bool, string).
func coerce(p *Port, v any) (any, error) {
	num := func() (float64, bool) {
		switch x := v.(type) {
		case bool, nil:
			return 0, false
		default:
			return store.ScalarOf(x)
		}
	}
	var out any
	switch p.Type {
	case TypeInteger:
		f, ok := num()
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, fmt.Errorf("must be an integer, not %s", describe(v))
		}
		if err := inRange(p, f); err != nil {
			return nil, err
		}
		out = int64(f)
	case TypeNumber:
		f, ok := num()
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("must be a finite number, not %s", describe(v))
		}
		if err := inRange(p, f); err != nil {
			return nil, err
		}
		out = f
	case TypeBoolean:
		switch x := v.(type) {
		case bool:
			out = x
		case string: // oSPARC's clients send "true"/"false"
			switch strings.ToLower(x) {
			case "true":
				out = true
			case "false":
				out = false
			default:
				return nil, fmt.Errorf("must be a boolean, not %s", describe(v))
			}
		default:
			return nil, fmt.Errorf("must be a boolean, not %s", describe(v))
		}
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be a string, not %s", describe(v))
		}
		out = s
	case TypeEnum:
		s, ok := v.(string)
		if !ok || !slices.Contains(p.Values, s) {
			return nil, fmt.Errorf("must be one of %q, not %s", p.Values, describe(v))
		}
		out = s
	default:
		return nil, fmt.Errorf("a %s port takes no value here", p.Type)
	}
	return out, nil
}

func inRange(p *Port, f float64) error {
	unit := ""
	if p.Unit != "" {
		unit = " " + p.Unit
	}
	if p.Min != nil && f < *p.Min {
		return fmt.Errorf("%v%s is below the minimum %v%s", f, unit, *p.Min, unit)
	}
	if p.Max != nil && f > *p.Max {
		return fmt.Errorf("%v%s is above the maximum %v%s", f, unit, *p.Max, unit)
	}
	return nil
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing (nil)"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	}
	if f, ok := store.ScalarOf(v); ok {
		return fmt.Sprintf("the number %v", f)
	}
	return fmt.Sprintf("a %T", v)
}

// fileRef reads a file input: a sha256 string, or a map with "sha256"
// (or "id", as oSPARC's File) and optionally "filename".
func fileRef(v any) (FileRef, error) {
	var ref FileRef
	switch x := v.(type) {
	case string:
		ref.Sha256 = x
	case map[string]any:
		ref.Sha256, _ = x["sha256"].(string)
		if ref.Sha256 == "" {
			ref.Sha256, _ = x["id"].(string)
		}
		ref.Filename, _ = x["filename"].(string)
	case FileRef:
		ref = x
	case *FileRef:
		if x != nil {
			ref = *x
		}
	default:
		return ref, fmt.Errorf("must be a file reference (a sha256 or {sha256: …}), not %s", describe(v))
	}
	ref.Sha256 = strings.ToLower(ref.Sha256)
	if !shaRe.MatchString(ref.Sha256) {
		return ref, fmt.Errorf("%q is not a sha256 in hex", ref.Sha256)
	}
	return ref, nil
}

// validateInputs checks inputs against the solver's input ports, fills in
// defaults and returns the inputs in canonical types (file inputs as
// FileRef values). Every problem is listed; nothing is made on error.
func validateInputs(ctx context.Context, st store.Store, s *Solver, inputs map[string]any) (map[string]any, error) {
	e := &InputError{Solver: s.ID()}
	add := func(port, format string, a ...any) {
		e.Problems = append(e.Problems, PortProblem{Port: port, Reason: fmt.Sprintf(format, a...)})
	}
	out := map[string]any{}
	keys := make([]string, 0, len(inputs))
	for k := range inputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s.input(k) == nil {
			known := make([]string, len(s.Inputs))
			for i := range s.Inputs {
				known[i] = s.Inputs[i].Key
			}
			add(k, "unknown input of %s (its inputs: %s)", s.ID(), strings.Join(known, ", "))
		}
	}
	for i := range s.Inputs {
		p := &s.Inputs[i]
		v, given := inputs[p.Key]
		if !given || v == nil {
			if p.Default != nil {
				out[p.Key] = p.Default
			} else if p.IsRequired(true) {
				add(p.Key, "required %s input missing", p.Type)
			}
			continue
		}
		if p.Type == TypeFile {
			ref, err := fileRef(v)
			if err != nil {
				add(p.Key, "%v", err)
				continue
			}
			bs, err := st.BlobState(ctx, ref.Sha256)
			if err != nil {
				return nil, fmt.Errorf("jobs: checking input %q: %w", p.Key, err)
			}
			if !bs.Present {
				add(p.Key, "file %s was never uploaded (or its upload is unfinished: %d bytes received)", ref.Sha256, bs.Received)
				continue
			}
			ref.ContentType = p.ContentType
			ref.Filename = p.FileName()
			ref.Size = blobSize(ctx, st, ref.Sha256)
			out[p.Key] = ref
			continue
		}
		c, err := coerce(p, v)
		if err != nil {
			add(p.Key, "%v", err)
			continue
		}
		out[p.Key] = c
	}
	if len(e.Problems) > 0 {
		return nil, e
	}
	return out, nil
}

func blobSize(ctx context.Context, st store.Store, sha string) int64 {
	f, n, err := st.OpenBlob(ctx, sha)
	if err != nil {
		return 0
	}
	f.Close()
	return n
}
