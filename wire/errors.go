package wire

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by this package.
var (
	// ErrLineTooLong is returned when a banner or text line exceeds its limit.
	ErrLineTooLong = errors.New("wire: line too long")
	// ErrBadBanner is returned when a connection does not open with a
	// banner this side understands.
	ErrBadBanner = errors.New("wire: unknown banner")
	// ErrFrameTooLarge is wrapped by *FrameTooLargeError.
	ErrFrameTooLarge = errors.New("wire: frame too large")
)

// FrameTooLargeError reports a frame whose announced or encoded size is over
// the limit. errors.Is(err, ErrFrameTooLarge) holds for it.
type FrameTooLargeError struct {
	Size  uint64 // announced or encoded payload size in bytes
	Limit int    // the limit it broke
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("wire: frame of %d bytes exceeds the limit of %d bytes", e.Size, e.Limit)
}

// Unwrap makes errors.Is(err, ErrFrameTooLarge) true.
func (e *FrameTooLargeError) Unwrap() error { return ErrFrameTooLarge }
