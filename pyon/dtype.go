package pyon

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
)

// dtype is a parsed numpy dtype string as dtype.str gives it: byte order
// ('<' little, '>' big, '|' not applicable, '=' native), kind and item size
// in bytes, and for datetimes the unit ("[s]").
type dtype struct {
	order byte
	kind  byte
	size  int
	unit  string
}

func parseDType(s string) (dtype, error) {
	if len(s) < 3 {
		return dtype{}, malformed("bad numpy dtype %q", s)
	}
	d := dtype{order: s[0], kind: s[1]}
	if !strings.ContainsRune("<>|=", rune(d.order)) {
		return dtype{}, malformed("bad numpy dtype %q: byte order %q", s, d.order)
	}
	rest := s[2:]
	if i := strings.IndexByte(rest, '['); i >= 0 {
		d.unit, rest = rest[i:], rest[:i]
		if (d.kind != 'M' && d.kind != 'm') || !strings.HasSuffix(d.unit, "]") {
			return dtype{}, malformed("bad numpy dtype %q", s)
		}
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n > 1<<20 {
		return dtype{}, malformed("bad numpy dtype %q: item size", s)
	}
	d.size = n
	ok := false
	switch d.kind {
	case 'b':
		ok = n == 1
	case 'i', 'u':
		ok = n == 1 || n == 2 || n == 4 || n == 8
	case 'f':
		ok = n == 2 || n == 4 || n == 8 || n == 12 || n == 16
	case 'c':
		ok = n == 8 || n == 16 || n == 24 || n == 32
	case 'M', 'm':
		ok = n == 8
	case 'S', 'V':
		ok = true
	case 'U':
		// numpy writes the length in characters of 4 bytes (UCS-4).
		d.size, ok = 4*n, true
	case 'O':
		return dtype{}, malformed("numpy object arrays (dtype %q) are not PYON", s)
	}
	if !ok {
		return dtype{}, malformed("bad numpy dtype %q", s)
	}
	return d, nil
}

func (d dtype) String() string {
	n := d.size
	if d.kind == 'U' {
		n /= 4
	}
	return string([]byte{d.order, d.kind}) + strconv.Itoa(n) + d.unit
}

// order gives the byte order; '=' (native) is taken as little-endian, the
// order of every machine SiPyCo runs on (numpy's dtype.str never writes '=').
func (d dtype) byteOrder() binary.ByteOrder {
	if d.order == '>' {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (d dtype) uint(b []byte) uint64 {
	o := d.byteOrder()
	switch d.size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(o.Uint16(b))
	case 4:
		return uint64(o.Uint32(b))
	}
	return o.Uint64(b)
}

func (d dtype) int(b []byte) int64 {
	u := d.uint(b)
	shift := 64 - 8*uint(d.size)
	return int64(u<<shift) >> shift // sign-extend
}

// float reads one f2/f4/f8 value.
func (d dtype) float(b []byte) float64 {
	o := d.byteOrder()
	switch d.size {
	case 2:
		return halfToFloat(o.Uint16(b))
	case 4:
		return float64(math.Float32frombits(o.Uint32(b)))
	}
	return math.Float64frombits(o.Uint64(b))
}

// numeric reports whether elements convert to Go numbers (f12/f16 long
// doubles and c24/c32 do not: Go has no such floats).
func (d dtype) numeric() bool {
	switch d.kind {
	case 'b', 'i', 'u':
		return true
	case 'f':
		return d.size <= 8
	case 'c':
		return d.size <= 16
	}
	return false
}

// elem returns one element as bool, int64, uint64, float64 or complex128.
func (d dtype) elem(b []byte) any {
	switch d.kind {
	case 'b':
		return b[0] != 0
	case 'i':
		return d.int(b)
	case 'u':
		return d.uint(b)
	case 'f':
		return d.float(b)
	case 'c':
		h := dtype{order: d.order, kind: 'f', size: d.size / 2}
		return complex(h.float(b), h.float(b[h.size:]))
	}
	return nil
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1024+frac, exp-25)
}
