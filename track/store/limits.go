package store

import (
	"fmt"
	"unicode/utf8"
)

// Limits bounds what one run may store. The zero value of a field means its
// default (DefaultLimits); every check returns a *LimitError.
type Limits struct {
	// MaxKeyLen bounds the length in bytes of a param, metadata, result,
	// tag, count or artifact name. Default 256.
	MaxKeyLen int
	// MaxValueSize bounds one value (a param, a metadata entry, a
	// non-scalar result, a note), msgpack-encoded. Default 1 MiB.
	MaxValueSize int
	// MaxBatchRecords bounds the records plus scalar points of one batch.
	// Default 200,000.
	MaxBatchRecords int
	// MaxSeriesLen bounds the points of one result series. Default
	// 10,000,000.
	MaxSeriesLen int64
	// MaxKeysPerRun bounds the distinct params, metadata keys and series
	// of one run, each. Default 10,000.
	MaxKeysPerRun int
	// MaxBlobSize bounds one artifact. Default 4 GiB.
	MaxBlobSize int64
	// MaxValueDepth bounds the nesting of one value (a list in a list is
	// depth 2): every reader can return what was stored (the track client
	// and memo decode 64 levels, the dashboard's JSON writer 200). Default
	// 64.
	MaxValueDepth int
	// MaxTagsPerRun bounds the tags of one run. Default 1,000.
	MaxTagsPerRun int
}

// MaxStep bounds the magnitude of a step: 2^53-1, the largest integer a
// JavaScript number (the dashboard) holds exactly.
const MaxStep = 1<<53 - 1

// DefaultLimits are the limits a zero Limits stands for.
var DefaultLimits = Limits{
	MaxKeyLen:       256,
	MaxValueSize:    1 << 20,
	MaxBatchRecords: 200_000,
	MaxSeriesLen:    10_000_000,
	MaxKeysPerRun:   10_000,
	MaxBlobSize:     4 << 30,
	MaxValueDepth:   64,
	MaxTagsPerRun:   1000,
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.MaxKeyLen > 0 {
		d.MaxKeyLen = l.MaxKeyLen
	}
	if l.MaxValueSize > 0 {
		d.MaxValueSize = l.MaxValueSize
	}
	if l.MaxBatchRecords > 0 {
		d.MaxBatchRecords = l.MaxBatchRecords
	}
	if l.MaxSeriesLen > 0 {
		d.MaxSeriesLen = l.MaxSeriesLen
	}
	if l.MaxKeysPerRun > 0 {
		d.MaxKeysPerRun = l.MaxKeysPerRun
	}
	if l.MaxBlobSize > 0 {
		d.MaxBlobSize = l.MaxBlobSize
	}
	if l.MaxValueDepth > 0 {
		d.MaxValueDepth = l.MaxValueDepth
	}
	if l.MaxTagsPerRun > 0 {
		d.MaxTagsPerRun = l.MaxTagsPerRun
	}
	return d
}

// CheckKey checks a key or name: not empty, valid UTF-8 (every reader,
// JSON included, must be able to name it) without NUL (text.go), at most
// MaxKeyLen bytes.
func (l Limits) CheckKey(what, key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty %s", ErrBadRecord, what)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrBadRecord, what, short(key))
	}
	if err := checkNUL(what, key); err != nil {
		return err
	}
	if len(key) > l.MaxKeyLen {
		return &LimitError{Limit: "MaxKeyLen", Item: fmt.Sprintf("%s %q", what, short(key)), Size: int64(len(key)), Max: int64(l.MaxKeyLen)}
	}
	return nil
}

// CheckValue checks an encoded value's size.
func (l Limits) CheckValue(what string, encoded []byte) error {
	if len(encoded) > l.MaxValueSize {
		return &LimitError{Limit: "MaxValueSize", Item: what, Size: int64(len(encoded)), Max: int64(l.MaxValueSize)}
	}
	return nil
}

// CheckText checks a free text (a run name, a note, a content type):
// valid UTF-8 without NUL (text.go), at most max bytes (limit names the
// Limits field).
func CheckText(what string, s string, limit string, max int) error {
	if len(s) > max {
		return &LimitError{Limit: limit, Item: what, Size: int64(len(s)), Max: int64(max)}
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrBadRecord, what, short(s))
	}
	return checkNUL(what, s)
}

// CheckStep checks a step: within ±MaxStep.
func CheckStep(step int64) error {
	if step > MaxStep || step < -MaxStep {
		return fmt.Errorf("%w: step %d is beyond ±2^53-1", ErrBadRecord, step)
	}
	return nil
}

// short cuts s to 40 bytes, at a rune boundary when s is UTF-8.
func short(s string) string {
	if len(s) > 40 {
		return TruncateText(s, 40) + "…"
	}
	return s
}

// TruncateText returns s cut to at most n bytes without splitting a
// UTF-8 sequence.
func TruncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
