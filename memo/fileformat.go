package memo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"time"
)

// An entry file (DirStorage) is
//
//	body | meta | len(meta) uint32 LE | CRC-32C of all before uint32 LE | "sgmemo01"
//
// body is the value: a standard .npy file (version 1.0) when the value is
// an array, so numpy.load reads the file as is (numpy ignores the bytes
// after the array data), else the value's msgpack. meta is a msgpack map:
//
//	"name", "params": the Key     "kind": "npy" or "msgpack"
//	"computed": Unix nanoseconds   "duration": nanoseconds   "run": string
//
// A file whose trailer, checksum or body does not check out is corrupt.

const (
	fileMagic   = "sgmemo01"
	trailerSize = 4 + 4 + len(fileMagic)
	npyMagic    = "\x93NUMPY"
	maxDepth    = 64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeFile returns the file bytes of e.
func encodeFile(e *Entry) ([]byte, string, error) {
	var buf bytes.Buffer
	kind := "msgpack"
	if a, ok := asArray(e.Value); ok {
		kind = "npy"
		writeNPY(&buf, a)
	} else if err := encodeMsgpack(&buf, e.Value); err != nil {
		return nil, "", err
	}
	metaStart := buf.Len()
	meta := map[string]any{
		"name": e.Key.Name, "params": e.Key.Params, "kind": kind,
		"computed": e.Computed.UnixNano(), "duration": int64(e.Duration), "run": e.Run,
	}
	if err := encodeMsgpack(&buf, meta); err != nil {
		return nil, "", err
	}
	b := binary.LittleEndian.AppendUint32(buf.Bytes(), uint32(buf.Len()-metaStart))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return append(b, fileMagic...), kind, nil
}

// decodeFile parses file bytes. Errors are reasons for a CorruptError.
// Nothing is allocated beyond a small multiple of len(b).
func decodeFile(b []byte) (*Entry, error) {
	if len(b) < trailerSize || string(b[len(b)-len(fileMagic):]) != fileMagic {
		return nil, errors.New("not a memo file (truncated?)")
	}
	t := len(b) - trailerSize
	metaLen := int(binary.LittleEndian.Uint32(b[t:]))
	sum := binary.LittleEndian.Uint32(b[t+4:])
	if crc32.Checksum(b[:t+4], castagnoli) != sum {
		return nil, errors.New("checksum mismatch")
	}
	if metaLen > t {
		return nil, errors.New("bad metadata length")
	}
	body, metaB := b[:t-metaLen], b[t-metaLen:t]
	if err := checkMsgpack(metaB); err != nil {
		return nil, fmt.Errorf("metadata: %v", err)
	}
	mv, err := decodeMsgpack(metaB)
	if err != nil {
		return nil, fmt.Errorf("metadata: %v", err)
	}
	meta, ok := mv.(map[string]any)
	if !ok {
		return nil, errors.New("metadata is not a map")
	}
	name, _ := meta["name"].(string)
	params, _ := meta["params"].(string)
	kind, _ := meta["kind"].(string)
	run, _ := meta["run"].(string)
	computed, ok1 := meta["computed"].(int64)
	dur, ok2 := meta["duration"].(int64)
	if !ok1 || !ok2 || name == "" {
		return nil, errors.New("metadata lacks fields")
	}
	e := &Entry{
		Key:      Key{Name: name, Params: params},
		Computed: time.Unix(0, computed).UTC(),
		Duration: time.Duration(dur),
		Run:      run,
	}
	switch kind {
	case "npy":
		a, err := readNPY(body)
		if err != nil {
			return nil, err
		}
		if e.Value, err = arrayValue(a); err != nil {
			return nil, fmt.Errorf("npy: %v", err)
		}
	case "msgpack":
		if err := checkMsgpack(body); err != nil {
			return nil, fmt.Errorf("value: %v", err)
		}
		if e.Value, err = decodeMsgpack(body); err != nil {
			return nil, fmt.Errorf("value: %v", err)
		}
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	return e, nil
}

// writeNPY writes a as a version 1.0 .npy file.
func writeNPY(buf *bytes.Buffer, a array) {
	h := []byte("{'descr': '" + a.dtype + "', 'fortran_order': False, 'shape': (")
	for i, d := range a.shape {
		if i > 0 {
			h = append(h, ", "...)
		}
		h = strconv.AppendInt(h, int64(d), 10)
	}
	if len(a.shape) == 1 {
		h = append(h, ',')
	}
	h = append(h, "), }"...)
	// Pad with spaces so the data starts at a multiple of 64, header ends with \n.
	total := len(npyMagic) + 2 + 2 + len(h) + 1
	for total%64 != 0 {
		h = append(h, ' ')
		total++
	}
	h = append(h, '\n')
	buf.WriteString(npyMagic)
	buf.Write([]byte{1, 0})
	buf.Write(binary.LittleEndian.AppendUint16(nil, uint16(len(h))))
	buf.Write(h)
	buf.Write(a.data)
}

// readNPY parses a .npy file (versions 1–3, C order). The data is a
// sub-slice of b; it must be exactly what the shape and dtype call for.
func readNPY(b []byte) (array, error) {
	if len(b) < 10 || string(b[:6]) != npyMagic {
		return array{}, errors.New("npy: bad magic")
	}
	var hlen, off int
	switch b[6] {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		if len(b) < 12 {
			return array{}, errors.New("npy: truncated")
		}
		hlen, off = int(binary.LittleEndian.Uint32(b[8:])), 12
	default:
		return array{}, fmt.Errorf("npy: version %d", b[6])
	}
	if hlen > len(b)-off {
		return array{}, errors.New("npy: truncated header")
	}
	a, fortran, err := parseNPYHeader(b[off : off+hlen])
	if err != nil {
		return array{}, err
	}
	if fortran {
		return array{}, errors.New("npy: Fortran order is not supported")
	}
	a.data = b[off+hlen:]
	// Check the element count without overflow before anything trusts it.
	n := 1
	for _, d := range a.shape {
		if d < 0 || (d > 0 && n > len(a.data)/d) {
			return array{}, errors.New("npy: shape does not match the data")
		}
		n *= d
	}
	return a, nil
}

// parseNPYHeader reads the dict literal numpy writes:
// {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
func parseNPYHeader(h []byte) (a array, fortran bool, err error) {
	p := &lit{s: h}
	if !p.take('{') {
		return a, false, errors.New("npy: bad header")
	}
	seen := 0
	for {
		p.space()
		if p.take('}') {
			break
		}
		key, ok := p.str()
		if !ok || !p.take(':') {
			return a, false, errors.New("npy: bad header")
		}
		switch key {
		case "descr":
			if a.dtype, ok = p.str(); !ok {
				return a, false, errors.New("npy: descr is not a simple dtype")
			}
			seen |= 1
		case "fortran_order":
			switch {
			case p.word("False"):
			case p.word("True"):
				fortran = true
			default:
				return a, false, errors.New("npy: bad fortran_order")
			}
			seen |= 2
		case "shape":
			if a.shape, ok = p.tuple(); !ok {
				return a, false, errors.New("npy: bad shape")
			}
			seen |= 4
		default:
			return a, false, fmt.Errorf("npy: unknown header key %q", key)
		}
		p.space()
		if !p.take(',') {
			p.space()
			if !p.take('}') {
				return a, false, errors.New("npy: bad header")
			}
			break
		}
	}
	if seen != 7 {
		return a, false, errors.New("npy: header lacks keys")
	}
	return a, fortran, nil
}

// lit is a cursor over a Python literal.
type lit struct {
	s []byte
	i int
}

func (p *lit) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *lit) take(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *lit) word(w string) bool {
	p.space()
	if bytes.HasPrefix(p.s[p.i:], []byte(w)) {
		p.i += len(w)
		return true
	}
	return false
}

// str reads a quoted string without escapes.
func (p *lit) str() (string, bool) {
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	end := bytes.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	s := string(p.s[p.i+1 : p.i+1+end])
	if bytes.IndexByte([]byte(s), '\\') >= 0 {
		return "", false
	}
	p.i += end + 2
	return s, true
}

// tuple reads (1, 2) or (3,) or () of non-negative ints, at most 32.
func (p *lit) tuple() ([]int, bool) {
	if !p.take('(') {
		return nil, false
	}
	var out []int
	for {
		if p.take(')') {
			return out, true
		}
		p.space()
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if p.i == start || p.i-start > 18 || len(out) == 32 {
			return nil, false
		}
		n, _ := strconv.Atoi(string(p.s[start:p.i]))
		out = append(out, n)
		if !p.take(',') {
			return out, p.take(')')
		}
	}
}

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
