package memo

import (
	"bytes"
	"errors"
	"fmt"
)

// This file bounds decoding with the msgpack library: it knows the
// extension ids of pyon's msgpack mapping (70–72 and msgpack's time).
// When pyon's own bounded msgpack decoder is available, decodeMsgpack in
// value.go calls it and this file goes.

// maxDepth bounds the nesting of a stored value.
const maxDepth = 64

// checkMsgpack walks one msgpack value in b and checks that every length
// it declares fits in the bytes that follow, that nesting is at most
// maxDepth, that extensions are the value model's, and that nothing
// follows the value. After it, decoding b allocates at most a small
// multiple of len(b).
func checkMsgpack(b []byte) error { return checkMsgpackDepth(b, 0) }

func checkMsgpackDepth(b []byte, depth int) error {
	n, err := skipMsgpack(b, 0, depth)
	if err != nil {
		return err
	}
	if n != len(b) {
		return errors.New("msgpack: trailing bytes")
	}
	return nil
}

var errShort = errors.New("msgpack: truncated")

// skipMsgpack returns the offset after the value at b[i:].
func skipMsgpack(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errors.New("msgpack: nested too deeply")
	}
	if i >= len(b) {
		return 0, errShort
	}
	c := b[i]
	i++
	uintN := func(size int) (int, error) {
		if len(b)-i < size {
			return 0, errShort
		}
		var n uint64
		for k := 0; k < size; k++ {
			n = n<<8 | uint64(b[i+k])
		}
		i += size
		if n > uint64(len(b)-i) {
			return 0, errShort // a length beyond the input
		}
		return int(n), nil
	}
	fixed := func(size int) (int, error) {
		if len(b)-i < size {
			return 0, errShort
		}
		return i + size, nil
	}
	items := func(n int, per int) (int, error) {
		if n > (len(b)-i)/per {
			return 0, errShort
		}
		var err error
		for range n * per {
			if i, err = skipMsgpack(b, i, depth+1); err != nil {
				return 0, err
			}
		}
		return i, nil
	}
	ext := func(n int) (int, error) {
		if len(b)-i < 1+n {
			return 0, errShort
		}
		typ := int8(b[i])
		data := b[i+1 : i+1+n]
		switch {
		case typ == 70 && n == 16, typ == -1 && (n == 4 || n == 8 || n == 12):
		case typ == 71:
			if !fractionText(data) {
				return 0, errors.New("msgpack: Fraction extension is not num/den")
			}
		case typ == 72:
			if err := checkMsgpackDepth(data, depth+1); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("msgpack: extension %d of %d bytes", typ, n)
		}
		return i + 1 + n, nil
	}
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		return i, nil
	case c >= 0x80 && c <= 0x8f:
		return items(int(c&0x0f), 2)
	case c >= 0x90 && c <= 0x9f:
		return items(int(c&0x0f), 1)
	case c >= 0xa0 && c <= 0xbf:
		n := int(c & 0x1f)
		if n > len(b)-i {
			return 0, errShort
		}
		return i + n, nil
	}
	switch c {
	case 0xc4, 0xd9:
		n, err := uintN(1)
		return i + n, err
	case 0xc5, 0xda:
		n, err := uintN(2)
		return i + n, err
	case 0xc6, 0xdb:
		n, err := uintN(4)
		return i + n, err
	case 0xc7, 0xc8, 0xc9:
		size := map[byte]int{0xc7: 1, 0xc8: 2, 0xc9: 4}[c]
		n, err := uintN(size)
		if err != nil {
			return 0, err
		}
		return ext(n)
	case 0xca, 0xce, 0xd2:
		return fixed(4)
	case 0xcb, 0xcf, 0xd3:
		return fixed(8)
	case 0xcc, 0xd0:
		return fixed(1)
	case 0xcd, 0xd1:
		return fixed(2)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return ext(1 << (c - 0xd4))
	case 0xdc, 0xde:
		n, err := lenN(b, &i, 2)
		if err != nil {
			return 0, err
		}
		return items(n, map[byte]int{0xdc: 1, 0xde: 2}[c])
	case 0xdd, 0xdf:
		n, err := lenN(b, &i, 4)
		if err != nil {
			return 0, err
		}
		return items(n, map[byte]int{0xdd: 1, 0xdf: 2}[c])
	}
	return 0, fmt.Errorf("msgpack: invalid code 0x%02x", c)
}

// lenN reads a big-endian count of size bytes (items() bounds it).
func lenN(b []byte, i *int, size int) (int, error) {
	if len(b)-*i < size {
		return 0, errShort
	}
	var n int
	for k := 0; k < size; k++ {
		n = n<<8 | int(b[*i+k])
	}
	*i += size
	return n, nil
}

// fractionText: the "num/den" text pyon writes for a Fraction (big.Rat
// would also take exponents such as 1e99999, slow to expand).
func fractionText(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	num, den, slash := bytes.Cut(b, []byte("/"))
	digits := func(d []byte) bool {
		for _, c := range d {
			if c < '0' || c > '9' {
				return false
			}
		}
		return len(d) > 0
	}
	return digits(num) && (!slash || digits(den))
}
