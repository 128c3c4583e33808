package pyon_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sigoco/sigoco/pyon"
)

func ExampleDecode() {
	line := `{"action":"call","name":"echo","args":{"__jsonclass__":["tuple",[[1.0,{"__jsonclass__":["complex",[1.0,2.0]]},Infinity]]]},"kwargs":{}}`
	v, err := pyon.Decode([]byte(line))
	if err != nil {
		fmt.Println(err)
		return
	}
	req := v.(map[string]any)
	for _, a := range req["args"].(pyon.Tuple) {
		fmt.Printf("%T %v\n", a, a)
	}
	// Output:
	// float64 1
	// complex128 (1+2i)
	// float64 +Inf
}

func ExampleEncode() {
	b, err := pyon.Encode(map[string]any{
		"status": "ok",
		"ret":    pyon.Tuple{1.0, []byte("hi"), pyon.Dict{{2, "two"}}},
	})
	fmt.Println(string(b), err)
	// Output:
	// {"ret":{"__jsonclass__":["tuple",[[1.0,{"__jsonclass__":["bytes",["aGk="]]},{"__jsonclass__":["dict",[[[2,"two"]]]]}]]]},"status":"ok"} <nil>
}

func ExampleConvert() {
	type Sweep struct {
		From, To float64
		Points   int
	}
	v, _ := pyon.Decode([]byte(`{"from": 0, "to": 1.5, "points": 4}`))
	var s Sweep
	fmt.Println(pyon.Convert(v, &s), s)

	v, _ = pyon.Decode([]byte(`"x"`))
	var db float64
	fmt.Println(pyon.Convert(v, &db))
	// Output:
	// <nil> {0 1.5 4}
	// cannot use string "x" as float64
}

func ExampleNDArray_Float64s2D() {
	v, _ := pyon.Decode([]byte(`{"__jsonclass__":["nparray",[[2,2],"<f8","AAAAAAAA8D8AAAAAAAAAQAAAAAAAAAhAAAAAAAAAEEA="]]}`))
	a := v.(pyon.NDArray)
	rows, err := a.Float64s2D()
	fmt.Println(a, rows, err)
	// Output:
	// nparray(shape=[2 2], dtype=<f8) [[1 2] [3 4]] <nil>
}

func ExampleFromFloat64s() {
	b, _ := pyon.Encode(pyon.FromFloat64s([]float64{1, 2}))
	fmt.Println(string(b))
	// Output:
	// {"__jsonclass__":["nparray",[[2],"<f8","AAAAAAAA8D8AAAAAAAAAQA=="]]}
}

func ExampleIsV1() {
	line := []byte(`{"action": "call", "name": "get_attenuation", "args": (), "kwargs": {}}`)
	_, err := pyon.Decode(line)
	fmt.Println(pyon.IsV1(line), errors.Is(err, pyon.ErrV1))
	fmt.Println(err)
	// Output:
	// true true
	// pyon: PYON v1 is not supported (Python-literal syntax); the peer must use PYON v2, SiPyCo's "pyon_v2" feature
}

// A native peer's value in the one msgpack mapping, decoded within a
// budget that a whole request shares.
func ExampleMsgpackDecoder() {
	b, _ := pyon.AppendMsgpack(nil, []any{pyon.Tuple{int64(1), "a"}, pyon.Set{Items: []any{2.5}, Frozen: true}, complex(1, 2)})
	d := pyon.MsgpackDecoder{Limits: pyon.Limits{MaxDecodedSize: 1 << 20}}
	v, n, err := d.Decode(b)
	fmt.Println(pyon.Repr(v), n == len(b), err, d.Used > 0)

	// Six bytes announcing a 2 GiB string cost nothing.
	_, err = pyon.DecodeMsgpack([]byte{0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'})
	fmt.Println(err)
	// Output:
	// [(1, 'a'), frozenset({2.5}), (1+2j)] true <nil> true
	// pyon: malformed value: msgpack value truncated (unexpected EOF)
}

// A file written as SiPyCo's store_file writes it (pretty, atomically)
// and read back.
func ExampleStoreFile() {
	dir, _ := os.MkdirTemp("", "pyon")
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "datasets.pyon")
	if err := pyon.StoreFile(name, map[string]any{"rate": 2.5, "pair": pyon.Tuple{int64(1), "a"}}); err != nil {
		fmt.Println(err)
		return
	}
	v, err := pyon.LoadFile(name)
	fmt.Println(pyon.Repr(v), err)
	b, _ := pyon.AppendWith(nil, []any{int64(1), "x"}, pyon.EncodeOptions{Pretty: true})
	fmt.Println(string(b))
	// Output:
	// {'pair': (1, 'a'), 'rate': 2.5} <nil>
	// [
	//     1,
	//     "x"
	// ]
}
