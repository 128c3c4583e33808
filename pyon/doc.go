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
// # The msgpack mapping
//
// The same values travel in sigoco's native protocols (version 2) as
// msgpack, in one mapping defined in msgpack.go and docs/protocol.md
// ("Values"): AppendMsgpack and EncodeMsgpackValue encode, a
// MsgpackDecoder (or DecodeMsgpack) decodes into exactly the types above,
// with extension ids 1–10 for tuple, set, frozenset, complex, big int,
// Fraction, numpy array, numpy scalar, OrderedDict and slice. The pyon
// types also have EncodeMsgpack/DecodeMsgpack methods, and complex128 and
// *big.Int registered extensions, for msgpack's reflection.
//
// # Limits
//
// Every decoder bounds what a peer can make it allocate: lengths are
// checked against the input that remains and against Limits (depth,
// elements, integer digits — 4300 as in Python — and decoded size, see
// SizeOf) before anything is allocated; numpy shapes are checked against
// their data, and an empty array may not describe more than 65536
// sub-arrays. Errors from a limit wrap ErrLimit.
//
// # Go values and the struct-key rule
//
// Normalize is the one conversion of Go values into the value model,
// used wherever a Go value is kept or sent in msgpack (rpc and log
// attributes through EncodeMsgpackValue, syncstruct trees, track records,
// Repr): typed slices and maps become lists and dicts, structs become
// map[string]any. Encode reads structs by the same rule. A struct
// field's key is, on every wire (PYON text, msgpack, JSON for browsers)
// and for Convert: its `pyon:"name"` tag, else its `json:"name"` tag,
// else its `msgpack:"name"` tag, else SnakeCase of its name (OmegaRate is
// "omega_rate"); FieldName gives it. Convert also accepts the Go name.
//
// Repr shows any value as Python's repr would; Encoder streams PYON text
// (EncodeOptions.StrictJSON for browsers).
//
// # Concurrency
//
// Encode, Append, Decode, Convert and DecodeInto are safe to call from
// many goroutines at once; they share only a read-mostly cache of struct
// field layouts. Decoded values are owned by the caller. Values of the
// pyon types are not synchronised: do not mutate one while another
// goroutine encodes it.
package pyon
