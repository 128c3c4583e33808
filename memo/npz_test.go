package memo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestNPZRoundTrip: several arrays (a map of them, a ragged list) are
// stored as .npz and read back typed; a damaged file is corrupt.
func TestNPZRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, err := OpenDir(t.TempDir(), DirOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{Storage: st})
	fields := map[string][]float64{"x": {1, 2, 3}, "y": {4.5, -1}}
	ragged := [][]float64{{1}, {2, 3}}
	Func0(c, "fields", func(ctx context.Context) (map[string][]float64, error) { return fields, nil })
	Func0(c, "ragged", func(ctx context.Context) ([][]float64, error) { return ragged, nil })
	for _, n := range []string{"fields", "ragged"} {
		if _, err := c.Get(ctx, n); err != nil {
			t.Fatal(n, err)
		}
		if _, err := os.Stat(st.Path(Key{Name: n}, "npz")); err != nil {
			t.Fatalf("%s: no .npz file: %v", n, err)
		}
	}
	c2 := New(Options{Storage: st})
	Func0(c2, "fields", func(ctx context.Context) (map[string][]float64, error) { return nil, errors.New("recomputed") })
	Func0(c2, "ragged", func(ctx context.Context) ([][]float64, error) { return nil, errors.New("recomputed") })
	if got, err := c2.Get(ctx, "fields"); err != nil || !reflect.DeepEqual(got, fields) {
		t.Fatalf("fields: %#v %v", got, err)
	}
	if got, err := c2.Get(ctx, "ragged"); err != nil || !reflect.DeepEqual(got, ragged) {
		t.Fatalf("ragged: %#v %v", got, err)
	}
	// A value that changes kind leaves one file.
	if err := st.Save(ctx, &Entry{Key: Key{Name: "fields"}, Value: "now text", Computed: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.Path(Key{Name: "fields"}, "npz")); !os.IsNotExist(err) {
		t.Fatalf("the old .npz stayed: %v", err)
	}
	// Damage: a flipped byte in an array is caught by the checksum.
	path := st.Path(Key{Name: "ragged"}, "npz")
	b, _ := os.ReadFile(path)
	b[100] ^= 0xFF
	os.WriteFile(path, b, 0o644)
	var ce *CorruptError
	if _, err := st.Load(ctx, Key{Name: "ragged"}); !errors.As(err, &ce) {
		t.Fatalf("damaged .npz: %v", err)
	}
}

// TestPythonReadsNPZ: Python's zipfile reads the .npz as numpy.load does
// (members NAME.npy, each a .npy with numpy's header), and numpy.load
// itself when numpy is there (CI has no numpy: the format is checked by
// hand then).
func TestPythonReadsNPZ(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	ctx := context.Background()
	st, err := OpenDir(t.TempDir(), DirOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	key := Key{Name: "fields", Params: "1, 2"}
	v := map[string]any{"x": []float64{1, 2.5}, "m": [][]float64{{1, 2, 3}, {4, 5, 6}}, "n": []int32{-7}}
	if err := st.Save(ctx, &Entry{Key: key, Value: v, Computed: time.Now()}); err != nil {
		t.Fatal(err)
	}
	path := st.Path(key, "npz")
	script := `
import ast, struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
out = []
for name in sorted(z.namelist()):
    info = z.getinfo(name)
    assert info.compress_type == zipfile.ZIP_STORED, name
    b = z.read(name)
    assert b[:6] == b"\x93NUMPY" and b[6] == 1, name
    hlen = struct.unpack("<H", b[8:10])[0]
    assert (10 + hlen) % 64 == 0, name
    h = ast.literal_eval(b[10:10 + hlen].decode("latin1"))
    n = 1
    for d in h["shape"]:
        n *= d
    assert len(b) - 10 - hlen == n * int(h["descr"][2:]), name
    out.append("%s %s %s" % (name, h["descr"], h["shape"]))
try:
    import numpy
except ImportError:
    numpy = None
if numpy is not None:
    d = numpy.load(sys.argv[1])
    assert d["x"].tolist() == [1.0, 2.5] and d["m"].shape == (2, 3) and d["n"].tolist() == [-7]
print("; ".join(out))
`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	want := "m.npy <f8 (2, 3); n.npy <i4 (1,); x.npy <f8 (2,)"
	if err != nil || strings.TrimSpace(string(out)) != want {
		t.Fatalf("python: %s %v\nwant %s", out, err, want)
	}
}
