package track

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

var uuidMu sync.Mutex // guards lastMs and lastSeq
var lastMs, lastSeq int64

// NewID returns a new run id: a UUIDv7 (RFC 9562), time-ordered, so that
// ids sort by start time. Ids made in the same millisecond still increase.
//
// A run id chosen instead (Options.ID, $SIGOCO_TRACK_RUN) must pass
// store.CheckRunID — 1 to 64 letters, digits, '.', '_' or '-', the first
// a letter or digit — as NewID's always do: Start refuses others, and so
// does the server (ids name directories: the client's spool, trackd's
// jobs).
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	uuidMu.Lock()
	ms := time.Now().UnixMilli()
	if ms <= lastMs {
		ms = lastMs
		lastSeq++
	} else {
		lastSeq = 0
	}
	lastMs = ms
	seq := lastSeq
	uuidMu.Unlock()
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = 0x70 | byte(seq>>8)&0x0f // version 7, 12-bit counter (rand_a)
	b[7] = byte(seq)
	b[8] = b[8]&0x3f | 0x80 // variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
