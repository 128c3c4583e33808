package store

import "fmt"

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
}

// DefaultLimits are the limits a zero Limits stands for.
var DefaultLimits = Limits{
	MaxKeyLen:       256,
	MaxValueSize:    1 << 20,
	MaxBatchRecords: 200_000,
	MaxSeriesLen:    10_000_000,
	MaxKeysPerRun:   10_000,
	MaxBlobSize:     4 << 30,
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
	return d
}

// CheckKey checks a key or name: not empty, valid UTF-8 not needed, at most
// MaxKeyLen bytes.
func (l Limits) CheckKey(what, key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty %s", ErrBadRecord, what)
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

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
