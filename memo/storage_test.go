package memo

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
)

// storages runs f over every file storage.
func storages(t *testing.T, f func(t *testing.T, st Storage)) {
	t.Run("dir", func(t *testing.T) {
		st, err := OpenDir(t.TempDir(), DirOptions{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		f(t, st)
	})
	t.Run("json", func(t *testing.T) {
		st, err := OpenJSON(t.TempDir(), DirOptions{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		f(t, st)
	})
}

type point struct {
	X, Y  float64
	Label string
}

func TestStorageRoundTrip(t *testing.T) {
	storages(t, func(t *testing.T, st Storage) {
		ctx := context.Background()
		c := New(Options{Storage: st, Run: "r1"})
		values := map[string]any{}
		reg := func(name string, v any, f func(c *Cache)) {
			values[name] = v
			f(c)
		}
		reg("floats", []float64{1, 2.5, math.Inf(1)}, func(c *Cache) {
			Func0(c, "floats", func(ctx context.Context) ([]float64, error) { return []float64{1, 2.5, math.Inf(1)}, nil })
		})
		reg("matrix", [][]float64{{1, 2}, {3, 4}, {5, 6}}, func(c *Cache) {
			Func0(c, "matrix", func(ctx context.Context) ([][]float64, error) { return [][]float64{{1, 2}, {3, 4}, {5, 6}}, nil })
		})
		reg("ints", []int32{-1, 7}, func(c *Cache) {
			Func0(c, "ints", func(ctx context.Context) ([]int32, error) { return []int32{-1, 7}, nil })
		})
		reg("struct", point{1, -2, "p"}, func(c *Cache) {
			Func0(c, "struct", func(ctx context.Context) (point, error) { return point{1, -2, "p"}, nil })
		})
		reg("map", map[string]int{"a": 1, "b": -2}, func(c *Cache) {
			Func0(c, "map", func(ctx context.Context) (map[string]int, error) { return map[string]int{"a": 1, "b": -2}, nil })
		})
		reg("string", "héllo", func(c *Cache) {
			Func0(c, "string", func(ctx context.Context) (string, error) { return "héllo", nil })
		})
		reg("complex", complex(1, 2), func(c *Cache) {
			Func0(c, "complex", func(ctx context.Context) (complex128, error) { return complex(1, 2), nil })
		})
		for name := range values {
			if _, err := c.Get(ctx, name); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		// A second cache reads every value back from storage, typed.
		c2 := New(Options{Storage: st})
		Func0(c2, "floats", func(ctx context.Context) ([]float64, error) { return nil, errors.New("recomputed") })
		Func0(c2, "matrix", func(ctx context.Context) ([][]float64, error) { return nil, errors.New("recomputed") })
		Func0(c2, "ints", func(ctx context.Context) ([]int32, error) { return nil, errors.New("recomputed") })
		Func0(c2, "struct", func(ctx context.Context) (point, error) { return point{}, errors.New("recomputed") })
		Func0(c2, "map", func(ctx context.Context) (map[string]int, error) { return nil, errors.New("recomputed") })
		Func0(c2, "string", func(ctx context.Context) (string, error) { return "", errors.New("recomputed") })
		Func0(c2, "complex", func(ctx context.Context) (complex128, error) { return 0, errors.New("recomputed") })
		for name, want := range values {
			got, err := c2.Get(ctx, name)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %#v, %v; want %#v", name, got, err, want)
			}
			e, err := c2.Load(ctx, name)
			if err != nil || e.Run != "r1" || e.Computed.IsZero() {
				t.Errorf("%s: entry %+v %v", name, e, err)
			}
		}
	})
}

// numpyPython returns a python3 that has numpy: /usr/bin/python3 (where
// Debian's python3-numpy is), else the one on PATH. It skips the test if
// there is none, and fails it in CI.
func numpyPython(t *testing.T) string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import numpy").Run() == nil {
			return py
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no python3 with numpy in CI")
	}
	t.Skip("no python3 with numpy")
	return ""
}

func TestNumpyReadsNPY(t *testing.T) {
	py := numpyPython(t)
	ctx := context.Background()
	st, err := OpenDir(t.TempDir(), DirOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v    any
		want string
	}{
		{[]float64{1, 2.5, -3}, "float64 (3,) [1.0, 2.5, -3.0]"},
		{[][]float64{{1, 2, 3}, {4, 5, 6}}, "float64 (2, 3) [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]"},
		{[]int32{-7, 8}, "int32 (2,) [-7, 8]"},
		{[]int64{1 << 40}, "int64 (1,) [1099511627776]"},
		{[]bool{true, false}, "bool (2,) [True, False]"},
		{[]complex128{complex(1, -1)}, "complex128 (1,) [(1-1j)]"},
		{[]float64{}, "float64 (0,) []"},
	} {
		key := Key{"arr", strings.ReplaceAll(tc.want[:8], " ", "_")}
		if err := st.Save(ctx, &Entry{Key: key, Value: tc.v, Computed: time.Now()}); err != nil {
			t.Fatal(err)
		}
		path := st.Path(key, "npy")
		out, err := exec.Command(py, "-c",
			"import numpy, sys; a = numpy.load(sys.argv[1]); m = numpy.load(sys.argv[1], mmap_mode='r'); assert (a == m).all(); print(a.dtype, a.shape, a.tolist())", path).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("numpy.load(%v): %s %v, want %s", tc.v, out, err, tc.want)
		}
	}
	// And a file numpy wrote reads back (no trailer: the npy reader alone).
	path := filepath.Join(t.TempDir(), "np.npy")
	if out, err := exec.Command(py, "-c",
		"import numpy, sys; numpy.save(sys.argv[1], numpy.arange(6, dtype='<i4').reshape(2, 3))", path).CombinedOutput(); err != nil {
		t.Fatalf("%s %v", out, err)
	}
	b, _ := os.ReadFile(path)
	a, err := readNPY(b)
	if err != nil || a.dtype != "<i4" || !reflect.DeepEqual(a.shape, []int{2, 3}) || len(a.data) != 24 {
		t.Fatalf("readNPY of numpy's file: %+v %v", a, err)
	}
}

func TestCorruptFiles(t *testing.T) {
	ctx := context.Background()
	st, err := OpenDir(t.TempDir(), DirOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	good := func() []byte {
		b, _, err := encodeFile(&Entry{Key: Key{"f", "1"}, Value: []float64{1, 2, 3}, Computed: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, damage := range map[string]func([]byte) []byte{
		"truncated":   func(b []byte) []byte { return b[:len(b)-5] },
		"half":        func(b []byte) []byte { return b[:len(b)/2] },
		"empty":       func(b []byte) []byte { return nil },
		"bit flipped": func(b []byte) []byte { b[100] ^= 1; return b },
		"garbage":     func(b []byte) []byte { return bytes.Repeat([]byte("x"), 300) },
	} {
		t.Run(name, func(t *testing.T) {
			path := st.Path(Key{"f", "1"}, "npy")
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, damage(good()), 0o644); err != nil {
				t.Fatal(err)
			}
			var ce *CorruptError
			if _, err := st.Load(ctx, Key{"f", "1"}); !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) || ce.Path != path {
				t.Fatalf("Load: %v, want a CorruptError", err)
			}
			// The cache reports it through Load, and recomputes it on a call.
			c := New(Options{Storage: st})
			f := Func1(c, "f", func(ctx context.Context, a int) ([]float64, error) { return []float64{9}, nil })
			if _, err := c.Load(ctx, "f", 1); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Cache.Load: %v", err)
			}
			if v, err := f(ctx, 1); err != nil || !reflect.DeepEqual(v, []float64{9}) {
				t.Fatalf("call: %v %v", v, err)
			}
			if e, err := st.Load(ctx, Key{"f", "1"}); err != nil || !reflect.DeepEqual(e.Value.(pyon.NDArray).Len(), 1) {
				t.Fatalf("not overwritten: %v %v", e, err)
			}
		})
	}
}

func TestJSONReadable(t *testing.T) {
	ctx := context.Background()
	st, err := OpenJSON(t.TempDir(), DirOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{Storage: st})
	f := Func2(c, "poly_y", func(ctx context.Context, a int, s string) ([]float64, error) { return []float64{1, 4, 9}, nil })
	if _, err := f(ctx, 1, "x y"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(st.Path(Key{"poly_y", `1, "x y"`}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"value": [1.0,4.0,9.0]`) || !strings.Contains(string(b), `"params": "1, \"x y\""`) {
		t.Fatalf("file:\n%s", b)
	}
	if filepath.Base(filepath.Dir(st.Path(Key{"poly_y", "1"}))) != "poly_y" {
		t.Fatal(st.Path(Key{"poly_y", "1"}))
	}
	os.WriteFile(st.Path(Key{"poly_y", "2, \"z\""}), []byte(`{"name": "poly_y"`), 0o644)
	if _, err := st.Load(ctx, Key{"poly_y", "2, \"z\""}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated JSON: %v", err)
	}
}

func TestFractionsAndComplexInFiles(t *testing.T) {
	ctx := context.Background()
	st, err := OpenDir(t.TempDir(), DirOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	v := []any{pyon.NewFraction(-1, 3), complex(1, -2), pyon.Slice{Start: int64(1), Stop: nil, Step: int64(2)}}
	if err := st.Save(ctx, &Entry{Key: Key{"x", ""}, Value: v, Computed: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e, err := st.Load(ctx, Key{"x", ""})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Value.([]any)
	var frac string
	switch f := got[0].(type) { // a pointer or a value, depending on pyon's version
	case *pyon.Fraction:
		frac = f.String()
	case pyon.Fraction:
		frac = f.String()
	}
	if frac != "-1/3" || got[1] != complex(1, -2) {
		t.Fatalf("%#v", got)
	}
}
