package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Series are stored in chunks of up to ChunkPoints points each, so a long
// series costs a few thousand rows, not one per point. A chunk is columnar:
//
//	byte    format (1 = scalar, 2 = values)
//	uvarint n
//	n × uvarint   seq delta from the previous point (the first from 0)
//	n × varint    step delta (zig-zag)
//	n × varint    time delta in ns (zig-zag)
//	scalar: n × 8 bytes float64, little-endian
//	values: n × (uvarint length, canonical msgpack value)
//
// Deltas make a typical point 11–13 bytes.
const ChunkPoints = 4096

const (
	chunkScalar = 1
	chunkValues = 2
)

var errCorruptChunk = errors.New("store: corrupt chunk")

// Chunk is the decoded form of a chunk.
type Chunk struct {
	Seq    []int64
	Step   []int64
	Time   []int64
	Value  []float64 // scalar chunks
	Values [][]byte  // value chunks: canonical msgpack values
}

// Len returns the number of points.
func (c *Chunk) Len() int { return len(c.Seq) }

// Scalar reports whether the chunk holds scalars.
func (c *Chunk) Scalar() bool { return c.Values == nil }

// AppendEncoded appends the encoding of c to dst.
func (c *Chunk) AppendEncoded(dst []byte) []byte {
	if c.Scalar() {
		dst = append(dst, chunkScalar)
	} else {
		dst = append(dst, chunkValues)
	}
	n := c.Len()
	dst = binary.AppendUvarint(dst, uint64(n))
	var prev int64
	for _, s := range c.Seq {
		dst = binary.AppendUvarint(dst, uint64(s-prev))
		prev = s
	}
	prev = 0
	for _, s := range c.Step {
		dst = binary.AppendVarint(dst, s-prev)
		prev = s
	}
	prev = 0
	for _, t := range c.Time {
		dst = binary.AppendVarint(dst, t-prev)
		prev = t
	}
	if c.Scalar() {
		for _, v := range c.Value {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
		}
	} else {
		for _, v := range c.Values {
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		}
	}
	return dst
}

// DecodeChunk decodes b, appending the points to c (so several chunks can
// be decoded into one). It never allocates more than b's size justifies.
func DecodeChunk(b []byte, c *Chunk) error {
	if len(b) < 2 {
		return errCorruptChunk
	}
	format := b[0]
	if format != chunkScalar && format != chunkValues {
		return fmt.Errorf("%w: format %d", errCorruptChunk, format)
	}
	b = b[1:]
	n64, k := binary.Uvarint(b)
	if k <= 0 || n64 > uint64(len(b)) { // every point takes at least 3 bytes
		return errCorruptChunk
	}
	b = b[k:]
	n := int(n64)
	var err error
	pos := 0
	if c.Seq, pos, err = readColumn(b, pos, n, c.Seq, false); err != nil {
		return err
	}
	if c.Step, pos, err = readColumn(b, pos, n, c.Step, true); err != nil {
		return err
	}
	if c.Time, pos, err = readColumn(b, pos, n, c.Time, true); err != nil {
		return err
	}
	b = b[pos:]
	if format == chunkScalar {
		if len(b) != 8*n {
			return errCorruptChunk
		}
		c.Value = slices.Grow(c.Value, n)
		for i := 0; i < n; i++ {
			c.Value = append(c.Value, math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
		return nil
	}
	if c.Values == nil {
		c.Values = [][]byte{}
	}
	for i := 0; i < n; i++ {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return errCorruptChunk
		}
		c.Values = append(c.Values, b[k:k+int(l)])
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return errCorruptChunk
	}
	return nil
}

// readColumn decodes n delta-coded values from b at pos, appending their
// running sums to dst.
func readColumn(b []byte, pos, n int, dst []int64, signed bool) ([]int64, int, error) {
	dst = slices.Grow(dst, n)
	var prev int64
	for i := 0; i < n; i++ {
		if pos < len(b) && b[pos] < 0x80 { // one-byte varint: the common case
			d := int64(b[pos])
			if signed {
				d = int64(uint64(d)>>1) ^ -(d & 1)
			}
			prev += d
			pos++
			dst = append(dst, prev)
			continue
		}
		var d int64
		var k int
		if signed {
			d, k = binary.Varint(b[pos:])
		} else {
			var u uint64
			u, k = binary.Uvarint(b[pos:])
			d = int64(u)
		}
		if k <= 0 {
			return dst, pos, errCorruptChunk
		}
		pos += k
		prev += d
		dst = append(dst, prev)
	}
	return dst, pos, nil
}
