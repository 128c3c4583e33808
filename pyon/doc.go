// Package pyon encodes and decodes PYON v2, the value encoding of SiPyCo
// (the Python library behind ARTIQ): JSON, plus objects of the form
// {"__jsonclass__": [name, args]} for the Python types JSON lacks, plus
// Python's bare Infinity, -Infinity and NaN tokens.
//
// Decode turns a document into Go values (see Decode for the table), with
// Tuple, Set, Dict, OrderedDict, *Fraction, Slice, NDArray and NPScalar for
// the Python types that have no exact Go counterpart, and *big.Int for
// integers beyond 64 bits. Encode does the reverse for those values and for
// ordinary Go values (numbers, strings, slices, maps, structs), writing
// floats as Python does so that 1.0 stays a float on the Python side.
//
// Convert and DecodeInto turn a decoded value into a Go parameter type (a
// list into []float64, a dict into a struct, an int into a float64, an
// NDArray into []float64 or [][]float64, ...), with errors such as
// `cannot use string "x" as float64`; an RPC server uses them to bind
// arguments from SiPyCo callers.
//
// NDArray converts to and from []float64, []int64, []int32, []bool,
// []complex128 and [][]float64, reading both byte orders; NPScalar.Value
// gives a numpy scalar as a Go scalar.
//
// PYON v1, the Python-literal syntax older peers speak without the
// "pyon_v2" feature (and which SiPyCo decodes with eval), is not supported:
// Decode returns ErrV1 for it, and IsV1 tells a line apart, so a server can
// refuse such a peer with a clear message.
//
// The pyon types are also encodable with github.com/vmihailenco/msgpack/v5
// for sigoco's native protocol: see the mapping in msgpack.go and
// docs/sipyco.md. Importing the package registers msgpack extension ids
// 70–72 (complex128, Fraction, Slice).
//
// # Concurrency
//
// Encode, Append, Decode, Convert and DecodeInto are safe to call from
// many goroutines at once; they share only a read-mostly cache of struct
// field layouts. Decoded values are owned by the caller. Values of the
// pyon types are not synchronised: do not mutate one while another
// goroutine encodes it.
package pyon
