package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
	readCol := func(dst []int64, signed bool) ([]int64, error) {
		var prev int64
		for i := 0; i < n; i++ {
			var d int64
			if signed {
				v, k := binary.Varint(b)
				if k <= 0 {
					return dst, errCorruptChunk
				}
				d, b = v, b[k:]
			} else {
				v, k := binary.Uvarint(b)
				if k <= 0 {
					return dst, errCorruptChunk
				}
				d, b = int64(v), b[k:]
			}
			prev += d
			dst = append(dst, prev)
		}
		return dst, nil
	}
	var err error
	if c.Seq, err = readCol(c.Seq, false); err != nil {
		return err
	}
	if c.Step, err = readCol(c.Step, true); err != nil {
		return err
	}
	if c.Time, err = readCol(c.Time, true); err != nil {
		return err
	}
	if format == chunkScalar {
		if len(b) != 8*n {
			return errCorruptChunk
		}
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
