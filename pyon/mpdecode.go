package pyon

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// MsgpackDecoder decodes values of sigoco's msgpack mapping (see
// msgpack.go and docs/protocol.md) into the types listed there, within
// Limits. Every length in the input — of a str, bin, ext, array, map, a
// numpy shape or data, an integer's digits — is checked against the input
// that remains and against Limits before anything is allocated, so a
// decode allocates at most a small multiple of the bytes it consumed.
//
// Used accumulates the decoded size (SizeOf's model) of all values decoded
// since it was last set to 0, so one decoder can bound a whole request of
// several values: a value that would take Used past
// Limits.MaxDecodedSize is an error wrapping ErrLimit.
//
// A MsgpackDecoder is not safe for concurrent use; its zero value works.
type MsgpackDecoder struct {
	Limits Limits
	Used   int64

	keepOrder bool // a top-level map is a Dict even with only string keys
}

// DecodeMsgpack decodes one value that must fill b exactly, within
// DefaultLimits.
func DecodeMsgpack(b []byte) (any, error) {
	var d MsgpackDecoder
	v, n, err := d.Decode(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, malformed("msgpack: %d bytes after the value", len(b)-n)
	}
	return v, nil
}

// Decode decodes the value at the start of b and returns it with the
// number of bytes it took. The result never aliases b.
func (d *MsgpackDecoder) Decode(b []byte) (v any, n int, err error) {
	r := mpReader{lim: d.Limits.resolved(), used: &d.Used, b: b}
	v, err = r.value(0)
	if err != nil {
		return nil, 0, err
	}
	return v, r.off, nil
}

// Read decodes the next value from md. When md reads from a reader that
// reports its remaining length (a *bytes.Reader or *bytes.Buffer: any
// Len() int), lengths are checked against it; otherwise a length costs
// memory only as its bytes arrive.
func (d *MsgpackDecoder) Read(md *msgpack.Decoder) (any, error) {
	r := mpReader{lim: d.Limits.resolved(), used: &d.Used, md: md, keepOrder: d.keepOrder}
	if l, ok := md.Buffered().(interface{ Len() int }); ok {
		r.lenr = l
	}
	return r.value(0)
}

// mpReader reads from b (at off) or, when md is set, from md.
type mpReader struct {
	lim     Limits
	used    *int64
	b       []byte
	off     int
	md      *msgpack.Decoder
	lenr    interface{ Len() int }
	scratch [16]byte
	stack   []Item // pairs of the maps being decoded

	keepOrder bool
}

var errTruncated = fmt.Errorf("%w: msgpack value truncated (%w)", ErrMalformed, io.ErrUnexpectedEOF)

// remaining is an upper bound of the bytes left, or -1 if unknown.
func (r *mpReader) remaining() int {
	if r.md == nil {
		return len(r.b) - r.off
	}
	if r.lenr != nil {
		return r.lenr.Len()
	}
	return -1
}

// take returns the next n bytes. From b they alias it; from md they are
// scratch space (n ≤ 16) or a fresh buffer grown as the bytes arrive.
func (r *mpReader) take(n int) ([]byte, error) {
	if n < 0 {
		return nil, errTruncated
	}
	if r.md == nil {
		if n > len(r.b)-r.off {
			return nil, errTruncated
		}
		s := r.b[r.off : r.off+n : r.off+n]
		r.off += n
		return s, nil
	}
	if rem := r.remaining(); rem >= 0 && n > rem {
		return nil, errTruncated
	}
	if n <= len(r.scratch) {
		s := r.scratch[:n]
		if err := r.md.ReadFull(s); err != nil {
			return nil, errTruncated
		}
		return s, nil
	}
	const step = 1 << 20
	b := make([]byte, 0, min(n, step))
	for len(b) < n {
		k := min(n-len(b), step)
		b = append(b, make([]byte, k)...)
		if err := r.md.ReadFull(b[len(b)-k:]); err != nil {
			return nil, errTruncated
		}
	}
	return b, nil
}

// owned returns s as a slice the caller may keep.
func (r *mpReader) owned(s []byte) []byte {
	if r.md == nil || len(s) <= len(r.scratch) {
		return bytes.Clone(s)
	}
	return s
}

// fits checks an announced byte length against the input that remains.
func (r *mpReader) fits(n int) error {
	if rem := r.remaining(); rem >= 0 && n > rem {
		return errTruncated
	}
	return nil
}

func (r *mpReader) charge(n int64) error {
	*r.used += n
	if r.lim.MaxDecodedSize > 0 && *r.used > r.lim.MaxDecodedSize {
		return limitErr("decoded size over %d bytes", r.lim.MaxDecodedSize)
	}
	return nil
}

// count checks an announced element count (each element at least per
// bytes long) before anything is allocated for it.
func (r *mpReader) count(n, per int) error {
	if n > r.lim.MaxElements {
		return limitErr("%d elements, more than %d", n, r.lim.MaxElements)
	}
	if rem := r.remaining(); rem >= 0 && n > rem/per {
		return errTruncated
	}
	return nil
}

func (r *mpReader) uint(size int) (uint64, error) {
	s, err := r.take(size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(s[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(s)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(s)), nil
	}
	return binary.BigEndian.Uint64(s), nil
}

func (r *mpReader) length(size int) (int, error) {
	u, err := r.uint(size)
	if err != nil {
		return 0, err
	}
	if u > math.MaxInt32 {
		return 0, limitErr("msgpack length %d", u)
	}
	return int(u), nil
}

func (r *mpReader) value(depth int) (any, error) {
	if depth > r.lim.MaxDepth {
		return nil, limitErr("nested deeper than %d", r.lim.MaxDepth)
	}
	s, err := r.take(1)
	if err != nil {
		return nil, err
	}
	c := s[0]
	switch {
	case c <= 0x7f:
		return int64(c), r.charge(costSlot)
	case c >= 0xe0:
		return int64(int8(c)), r.charge(costSlot)
	case c <= 0x8f:
		return r.mapOf(int(c&0x0f), depth)
	case c <= 0x9f:
		return r.list(int(c&0x0f), depth)
	case c <= 0xbf:
		return r.str(int(c & 0x1f))
	}
	switch c {
	case 0xc0:
		return nil, r.charge(costSlot)
	case 0xc2:
		return false, r.charge(costSlot)
	case 0xc3:
		return true, r.charge(costSlot)
	case 0xc4, 0xc5, 0xc6:
		n, err := r.length(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		if err := r.fits(n); err != nil {
			return nil, err
		}
		if err := r.charge(costSlot + costSlice + int64(n)); err != nil {
			return nil, err
		}
		b, err := r.take(n)
		if err != nil {
			return nil, err
		}
		return r.owned(b), nil
	case 0xc7, 0xc8, 0xc9:
		n, err := r.length(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return r.ext(n, depth)
	case 0xca:
		u, err := r.uint(4)
		return float64(math.Float32frombits(uint32(u))), orCharge(err, r, costSlot+costScalar)
	case 0xcb:
		u, err := r.uint(8)
		return math.Float64frombits(u), orCharge(err, r, costSlot+costScalar)
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err := r.uint(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		if err := r.charge(costSlot + costScalar); err != nil {
			return nil, err
		}
		if u > math.MaxInt64 {
			return u, nil
		}
		return int64(u), nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		u, err := r.uint(size)
		if err != nil {
			return nil, err
		}
		shift := 64 - 8*size
		return int64(u<<shift) >> shift, r.charge(costSlot + costScalar)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return r.ext(1<<(c-0xd4), depth)
	case 0xd9, 0xda, 0xdb:
		n, err := r.length(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return r.str(n)
	case 0xdc, 0xdd:
		n, err := r.length(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return r.list(n, depth)
	case 0xde, 0xdf:
		n, err := r.length(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return r.mapOf(n, depth)
	}
	return nil, malformed("msgpack: unused code 0x%02x", c)
}

func orCharge(err error, r *mpReader, n int64) error {
	if err != nil {
		return err
	}
	return r.charge(n)
}

func (r *mpReader) str(n int) (any, error) {
	if err := r.fits(n); err != nil {
		return nil, err
	}
	if err := r.charge(costSlot + costString + int64(n)); err != nil {
		return nil, err
	}
	b, err := r.take(n)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func (r *mpReader) items(n, depth int) ([]any, error) {
	if err := r.count(n, 1); err != nil {
		return nil, err
	}
	if err := r.charge(costSlot + costSlice); err != nil {
		return nil, err
	}
	if n == 0 {
		return []any{}, nil
	}
	c := n
	if r.remaining() < 0 {
		c = min(n, 1024)
	}
	l := make([]any, 0, c)
	for range n {
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	return l, nil
}

func (r *mpReader) list(n, depth int) (any, error) {
	l, err := r.items(n, depth)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// mapOf reads n pairs: a map[string]any when every key is a string, else a
// Dict in the order sent. A repeated key keeps its first place and its
// last value, as in Python.
func (r *mpReader) mapOf(n, depth int) (any, error) {
	if err := r.count(n, 2); err != nil {
		return nil, err
	}
	if err := r.charge(costSlot + costSlice); err != nil {
		return nil, err
	}
	start := len(r.stack)
	defer func() { clear(r.stack[start:]); r.stack = r.stack[:start] }()
	allStr, err := r.pairs(n, depth)
	if err != nil {
		return nil, err
	}
	items := r.stack[start:]
	if !allStr || r.keepOrder && depth == 0 {
		return Dict(dedupe(slices.Clone(items))), nil
	}
	if err := r.charge(int64(len(items)) * costMapEnt); err != nil {
		return nil, err
	}
	m := make(map[string]any, len(items))
	for _, it := range items {
		m[it.Key.(string)] = it.Value
	}
	return m, nil
}

// pairs appends n decoded pairs to r.stack (a scratch stack shared by the
// maps being decoded, so a map of strings costs no pair slice of its own).
func (r *mpReader) pairs(n, depth int) (allStr bool, err error) {
	allStr = true
	for range n {
		k, err := r.value(depth + 1)
		if err != nil {
			return false, err
		}
		v, err := r.value(depth + 1)
		if err != nil {
			return false, err
		}
		if !hashable(k) {
			return false, malformed("msgpack: unhashable dict key %s", describe(k))
		}
		if err := r.charge(costItem); err != nil {
			return false, err
		}
		if _, ok := k.(string); !ok {
			allStr = false
		}
		r.stack = append(r.stack, Item{Key: k, Value: v})
	}
	return allStr, nil
}

// dedupe merges repeated scalar keys (first place, last value). A map of
// strings needs none: the Go map merges them.
func dedupe(items []Item) []Item {
	var seen map[any]int
	out := items[:0]
	for _, it := range items {
		kk, ok := comparableKey(it.Key)
		if !ok {
			out = append(out, it)
			continue
		}
		if seen == nil {
			seen = make(map[any]int, len(items))
		}
		if i, dup := seen[kk]; dup {
			out[i].Value = it.Value
			continue
		}
		seen[kk] = len(out)
		out = append(out, it)
	}
	return out
}

// comparableKey returns a Go map key standing for k when k is a scalar.
func comparableKey(k any) (any, bool) {
	switch x := k.(type) {
	case nil, bool, int64, uint64, float64, string, complex128:
		return x, true
	case []byte:
		return struct{ b string }{string(x)}, true
	}
	return nil, false
}

func (r *mpReader) ext(n, depth int) (any, error) {
	s, err := r.take(1)
	if err != nil {
		return nil, err
	}
	id := int8(s[0])
	if id == ExtPackedInt64 || id == ExtPackedFloat64 {
		return r.packed(id, n)
	}
	payload, err := r.take(n)
	if err != nil {
		return nil, err
	}
	sub := mpReader{lim: r.lim, used: r.used, b: payload}
	return sub.extValue(id, depth)
}

func (r *mpReader) extValue(id int8, depth int) (any, error) {
	if id < ExtTuple || id > ExtSlice {
		return nil, malformed("msgpack: unknown extension type %d", id)
	}
	var (
		p   any
		err error
	)
	if id == ExtBigInt {
		p, err = r.digits()
	} else {
		p, err = r.value(depth + 1)
	}
	if err != nil {
		return nil, err
	}
	if r.off != len(r.b) {
		return nil, malformed("msgpack: extension %d has %d stray bytes", id, len(r.b)-r.off)
	}
	v, err := extOf(id, p, r.lim)
	if err != nil {
		return nil, err
	}
	if id == ExtNDArray {
		return v, r.charge(2 * costSlice)
	}
	return v, nil
}

// digits reads the decimal text of a big int, its length checked first.
func (r *mpReader) digits() (any, error) {
	if len(r.b)-r.off > r.lim.MaxIntDigits+6 { // header and sign
		return nil, limitErr("integer of %d digits, more than %d", len(r.b)-r.off, r.lim.MaxIntDigits)
	}
	return r.value(0)
}

// packed reads a packed list (ExtPackedInt64, ExtPackedFloat64) of n bytes.
func (r *mpReader) packed(id int8, n int) (any, error) {
	if n%8 != 0 {
		return nil, malformed("msgpack: packed list of %d bytes", n)
	}
	if err := r.fits(n); err != nil {
		return nil, err
	}
	if err := r.count(n/8, 8); err != nil {
		return nil, err
	}
	if err := r.charge(costSlot + costSlice + int64(n/8)*(costSlot+costScalar)); err != nil {
		return nil, err
	}
	data, err := r.take(n)
	if err != nil {
		return nil, err
	}
	l := make([]any, n/8)
	for i := range l {
		u := binary.LittleEndian.Uint64(data[8*i:])
		if id == ExtPackedInt64 {
			l[i] = int64(u)
		} else {
			l[i] = math.Float64frombits(u)
		}
	}
	return l, nil
}
