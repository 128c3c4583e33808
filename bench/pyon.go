package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/sigoco/sigoco/pyon"
)

// The pyon suite times decoding and encoding of a recorded SiPyCo echo
// request (every PYON type, ~600 bytes) and of a 100,000-element float64
// numpy array, against encoding/json decoding the same text into `any`
// (pyon builds on it, so that is the floor).
func init() { register("pyon", benchPyon) }

const benchEcho = `{"action":"call","name":"echo","args":{"__jsonclass__":["tuple",[[[1,2.5,null,true,false,"ab\nx\"'",{"__jsonclass__":["dict",[[["a",5],[2,"int key"]]]]},{"__jsonclass__":["tuple",[[4,5]]]},{"__jsonclass__":["tuple",[[10]]]},{"__jsonclass__":["set",[[1,2]]]},{"__jsonclass__":["bytes",["AP9ieXRlcw=="]]},{"__jsonclass__":["complex",[1.0,2.0]]},{"__jsonclass__":["Fraction",[1,3]]},{"z":1,"a":2},1180591620717411303424,-7,1e+300,1.5]]]]},"kwargs":{}}`

// perOp runs f n times and returns microseconds per call.
func perOp(n int, f func() error) (float64, error) {
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := f(); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(start).Microseconds()) / float64(n), nil
}

func benchPyon(cfg config) ([]result, error) {
	n, nBig := 20000, 50
	if cfg.quick {
		n, nBig = 3000, 10
	}
	echo := []byte(benchEcho)
	v, err := pyon.Decode(echo)
	if err != nil {
		return nil, err
	}
	f := make([]float64, 100000)
	for i := range f {
		f[i] = math.Sqrt(float64(i))
	}
	arr, err := pyon.Encode(pyon.FromFloat64s(f))
	if err != nil {
		return nil, err
	}
	jsonArr, _ := json.Marshal(f)

	var out []result
	add := func(name string, us float64, err error) error {
		out = append(out, result{name, us, "us"})
		return err
	}
	pyDec, err := perOp(n, func() error { _, err := pyon.Decode(echo); return err })
	if err := add("pyon.decode_echo", pyDec, err); err != nil {
		return nil, err
	}
	jsDec, err := perOp(n, func() error {
		d := json.NewDecoder(bytes.NewReader(echo))
		d.UseNumber()
		var x any
		return d.Decode(&x)
	})
	if err := add("json.decode_echo", jsDec, err); err != nil {
		return nil, err
	}
	pyEnc, err := perOp(n, func() error { _, err := pyon.Encode(v); return err })
	if err := add("pyon.encode_echo", pyEnc, err); err != nil {
		return nil, err
	}
	arrDec, err := perOp(nBig, func() error {
		x, err := pyon.Decode(arr)
		if err != nil {
			return err
		}
		_, err = x.(pyon.NDArray).Float64s()
		return err
	})
	if err := add("pyon.decode_ndarray100k_to_float64s", arrDec, err); err != nil {
		return nil, err
	}
	listDec, err := perOp(nBig, func() error { var x []float64; return json.Unmarshal(jsonArr, &x) })
	if err := add("json.decode_list100k_to_float64s", listDec, err); err != nil {
		return nil, err
	}
	if pyDec == 0 || arrDec == 0 {
		return nil, fmt.Errorf("timer resolution too coarse")
	}
	out = append(out,
		result{"pyon.decode_echo.vs_json", jsDec / pyDec, "ratio"},
		result{"pyon.ndarray100k.vs_json_list", listDec / arrDec, "ratio"},
	)
	return out, nil
}
