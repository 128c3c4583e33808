package memo

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Entries holding several arrays (a map from names to arrays, or a list of
// arrays: the seed's .npz case) are written as a numpy .npz file: a zip
// archive of stored (uncompressed) NAME.npy members, as numpy.savez writes
// it (a list's members are arr_0, arr_1, …, as savez(*arrays) names them).
// The entry's metadata and checksum trailer (see fileformat.go) are the
// zip's comment, so the file ends with them and zip readers (numpy.load,
// Python's zipfile) read it as it is.

// maxZipComment is the most a zip comment holds.
const maxZipComment = 0xFFFF

// asArrays reports whether v is stored as an .npz: a map with string keys
// (safe member names) or a slice, of at least one element, each element
// an array (asArray). list is true for a slice.
func asArrays(v any) (names []string, arrs []array, list bool, ok bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String || rv.Len() == 0 {
			return nil, nil, false, false
		}
		for _, k := range rv.MapKeys() {
			names = append(names, k.String())
		}
		slices.Sort(names)
		for _, n := range names {
			if n == "" || strings.ContainsAny(n, "/\\\x00") || n == "." || n == ".." {
				return nil, nil, false, false
			}
			a, ok := asArray(rv.MapIndex(reflect.ValueOf(n).Convert(rv.Type().Key())).Interface())
			if !ok {
				return nil, nil, false, false
			}
			arrs = append(arrs, a)
		}
		return names, arrs, false, true
	case reflect.Slice:
		if rv.Len() == 0 {
			return nil, nil, false, false
		}
		for i := range rv.Len() {
			a, ok := asArray(rv.Index(i).Interface())
			if !ok {
				return nil, nil, false, false
			}
			names = append(names, "arr_"+strconv.Itoa(i))
			arrs = append(arrs, a)
		}
		return names, arrs, true, true
	}
	return nil, nil, false, false
}

// encodeNPZ returns the file bytes of an entry whose value is several
// arrays, with meta (already encoded) in the trailer; ok is false when
// meta does not fit in a zip comment (the caller stores msgpack then).
func encodeNPZ(names []string, arrs []array, meta []byte) ([]byte, bool, error) {
	commentLen := len(meta) + trailerSize
	if commentLen > maxZipComment {
		return nil, false, nil
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n + ".npy", Method: zip.Store})
		if err != nil {
			return nil, false, err
		}
		var nb bytes.Buffer
		writeNPY(&nb, arrs[i])
		if _, err := w.Write(nb.Bytes()); err != nil {
			return nil, false, err
		}
	}
	// The comment: meta | len(meta) | CRC-32C of all before | magic, the
	// CRC filled in once the bytes before it are known.
	comment := make([]byte, commentLen)
	copy(comment, meta)
	binary.LittleEndian.PutUint32(comment[len(meta):], uint32(len(meta)))
	copy(comment[len(meta)+8:], fileMagic)
	if err := zw.SetComment(string(comment)); err != nil {
		return nil, false, err
	}
	if err := zw.Close(); err != nil {
		return nil, false, err
	}
	b := buf.Bytes()
	crcAt := len(b) - len(fileMagic) - 4
	binary.LittleEndian.PutUint32(b[crcAt:], crc32.Checksum(b[:crcAt], castagnoli))
	return b, true, nil
}

// decodeNPZ reads the arrays of an .npz entry file (the whole file, its
// trailer included): a map from names to arrays, or a list in arr_N order.
// Only stored members are read, each no larger than the file.
func decodeNPZ(b []byte, list bool) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("npz: %v", err)
	}
	if len(zr.File) == 0 || len(zr.File) > len(b) {
		return nil, errors.New("npz: no members")
	}
	m := make(map[string]any, len(zr.File))
	for _, f := range zr.File {
		name, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok || f.Method != zip.Store || f.UncompressedSize64 > uint64(len(b)) {
			return nil, fmt.Errorf("npz: member %q is not a stored .npy", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("npz: %v", err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, int64(len(b))))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("npz: %s: %v", f.Name, err)
		}
		a, err := readNPY(data)
		if err != nil {
			return nil, fmt.Errorf("npz: %s: %v", f.Name, err)
		}
		if m[name], err = arrayValue(a); err != nil {
			return nil, fmt.Errorf("npz: %s: %v", f.Name, err)
		}
	}
	if !list {
		return m, nil
	}
	out := make([]any, len(m))
	for i := range out {
		v, ok := m["arr_"+strconv.Itoa(i)]
		if !ok {
			return nil, fmt.Errorf("npz: member arr_%d missing", i)
		}
		out[i] = v
	}
	return out, nil
}
