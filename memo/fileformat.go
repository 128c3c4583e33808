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
// after the array data), else the value's msgpack. Several arrays are an
// .npz (a zip archive, see npz.go) whose comment holds meta and the rest
// of the trailer. meta is a msgpack map:
//
//	"name", "params": the Key     "kind": "npy", "npz" or "msgpack"
//	"computed": Unix nanoseconds   "duration": nanoseconds   "run": string
//
// A file whose trailer, checksum or body does not check out is corrupt.

const (
	fileMagic   = "sgmemo01"
	trailerSize = 4 + 4 + len(fileMagic)
	npyMagic    = "\x93NUMPY"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeFile returns the file bytes of e.
func encodeFile(e *Entry) ([]byte, string, error) {
	if _, ok := asArray(e.Value); !ok {
		if names, arrs, list, ok := asArrays(e.Value); ok {
			meta := map[string]any{
				"name": e.Key.Name, "params": e.Key.Params, "kind": "npz", "list": list,
				"computed": e.Computed.UnixNano(), "duration": int64(e.Duration), "run": e.Run,
			}
			var mb bytes.Buffer
			if err := encodeMsgpack(&mb, meta); err != nil {
				return nil, "", err
			}
			b, fits, err := encodeNPZ(names, arrs, mb.Bytes())
			if err != nil {
				return nil, "", err
			}
			if fits {
				return b, "npz", nil
			}
		}
	}
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
	case "npz":
		list, _ := meta["list"].(bool)
		if e.Value, err = decodeNPZ(b, list); err != nil {
			return nil, err
		}
	case "msgpack":
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
