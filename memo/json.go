package memo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// JSONStorage keeps one human-readable file per entry,
// DIR/NAME/PARAMS.HASH.json (names as in DirStorage):
//
//	{"name": "poly_y", "params": "1, 2", "computed": "2026-12-03T09:00:00.123Z",
//	 "duration": "1.5s", "run": "", "value": [1.0,4.0,9.0]}
//
// The value is in PYON v2 (JSON, plus {"__jsonclass__": ...} objects for
// tuples, sets, complex numbers, ... and NaN/Infinity, which Python's json
// module reads). A top-level numpy array or Go numeric slice is written as
// a list, as the seed's JsonStorageInterface does (dtype and shape are
// lost; the metric's Go type brings them back). Writes are atomic and
// locking is as for DirStorage. There is no checksum: a file that does not
// parse is reported as corrupt.
type JSONStorage struct {
	d *DirStorage
}

// OpenJSON returns a JSONStorage in dir, creating the directory if needed.
func OpenJSON(dir string, opts DirOptions) (*JSONStorage, error) {
	d, err := OpenDir(dir, opts)
	if err != nil {
		return nil, err
	}
	return &JSONStorage{d}, nil
}

// Path returns the entry's file.
func (s *JSONStorage) Path(key Key) string { return s.d.base(key) + ".json" }

// Dir is the storage's directory.
func (s *JSONStorage) Dir() string { return s.d.Dir() }

// Lock is DirStorage.Lock.
func (s *JSONStorage) Lock(ctx context.Context, key Key) (func(), error) { return s.d.Lock(ctx, key) }

// Exists reports whether the entry's file is present.
func (s *JSONStorage) Exists(ctx context.Context, key Key) (bool, error) {
	_, err := os.Stat(s.Path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Save writes the entry.
func (s *JSONStorage) Save(ctx context.Context, e *Entry) error {
	if !validName(e.Key.Name) {
		return fmt.Errorf("%w: invalid metric name %q", ErrParams, e.Key.Name)
	}
	v, err := encodePYON(e.Value)
	if err != nil {
		return fmt.Errorf("memo: %s: %w", e.Key, err)
	}
	str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	doc := fmt.Sprintf("{\"name\": %s, \"params\": %s, \"computed\": %s, \"duration\": %s, \"run\": %s,\n \"value\": %s}\n",
		str(e.Key.Name), str(e.Key.Params), str(e.Computed.UTC().Format(time.RFC3339Nano)),
		str(e.Duration.String()), str(e.Run), v)
	return writeFileAtomic(s.Path(e.Key), []byte(doc), !s.d.opts.NoSync)
}

// Load reads the entry.
func (s *JSONStorage) Load(ctx context.Context, key Key) (*Entry, error) {
	if !validName(key.Name) {
		return nil, fmt.Errorf("%w: invalid metric name %q", ErrParams, key.Name)
	}
	path := s.Path(key)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("memo: %w", err)
	}
	if fi.Size() > s.d.opts.MaxFileSize {
		return nil, &CorruptError{Key: key, Path: path, Reason: "larger than MaxFileSize"}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("memo: %w", err)
	}
	corrupt := func(reason string) error { return &CorruptError{Key: key, Path: path, Reason: reason} }
	v, err := decodePYON(b)
	if err != nil {
		return nil, corrupt(err.Error())
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, corrupt("not an object")
	}
	name, _ := doc["name"].(string)
	params, _ := doc["params"].(string)
	run, _ := doc["run"].(string)
	cs, _ := doc["computed"].(string)
	ds, _ := doc["duration"].(string)
	computed, err1 := time.Parse(time.RFC3339Nano, cs)
	dur, err2 := time.ParseDuration(ds)
	value, hasValue := doc["value"]
	if err1 != nil || err2 != nil || !hasValue {
		return nil, corrupt("lacks fields")
	}
	if (Key{name, params}) != key {
		return nil, corrupt("holds " + Key{name, params}.String())
	}
	return &Entry{Key: key, Value: value, Computed: computed.UTC(), Duration: dur, Run: run}, nil
}

// Delete removes the entry's file.
func (s *JSONStorage) Delete(ctx context.Context, key Key) error {
	if err := os.Remove(s.Path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("memo: %w", err)
	}
	return nil
}
