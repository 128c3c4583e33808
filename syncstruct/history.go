package syncstruct

import (
	"sync"
)

// entry is one published mod, kept encoded in the native msgpack encoding:
// those bytes are what every msgpack subscriber receives, and the source
// from which any other encoding is made (once, on first use).
type entry struct {
	seq   uint64
	frame []byte // the mod as one msgpack frame; nil when it could not be sent (see resync)
	cum   int64  // bytes of all frames up to and including this one

	mu  sync.Mutex // guards alt
	alt []altBytes // other encodings of the same mod, made on demand
}

type altBytes struct {
	enc modEncoding
	b   []byte
	err error
}

// resync reports whether subscribers must get a snapshot instead of this
// mod (it was too large to send, or failed to encode).
func (e *entry) resync() bool { return e.frame == nil }

// bytesFor returns the mod in enc, encoding it on first use.
func (e *entry) bytesFor(enc modEncoding) ([]byte, error) {
	if enc == encMsgpack {
		return e.frame, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range e.alt {
		if a.enc == enc {
			return a.b, a.err
		}
	}
	m, err := decodeMod(e.frame[4:])
	var b []byte
	if err == nil {
		b, err = enc.AppendMod(nil, m)
	}
	e.alt = append(e.alt, altBytes{enc: enc, b: b, err: err})
	return b, err
}

// history is a notifier's log of recent mods. It is both the fan-out queue
// (each subscriber's writer reads it from its own cursor, so a mod is
// stored once however many subscribers there are) and the history from
// which a reconnecting subscriber resumes. It is bounded in bytes and in
// entries; what falls off the front is gone for everyone.
type history struct {
	mu      sync.Mutex // guards entries, start, head, bytes, cum and wake
	entries []*entry   // entries[start:] are live, oldest first
	start   int
	head    uint64 // seq of the newest mod (0: none yet)
	bytes   int64  // memory of the entries kept (entrySize)
	cum     int64  // cum of the newest entry

	maxBytes int64
	maxLen   int

	wake chan struct{} // closed on the next append; nil until someone waits
}

func newHistory(maxBytes, maxLen int) *history {
	return &history{maxBytes: int64(maxBytes), maxLen: maxLen}
}

// add appends the mod with the next sequence number (frame may be nil for
// a mod subscribers must resync over) and trims the oldest entries past the
// bounds, always keeping the newest. The caller holds the notifier's write
// lock, which is what orders mods.
func (h *history) add(frame []byte) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.head++
	h.cum += int64(len(frame))
	h.entries = append(h.entries, &entry{seq: h.head, frame: frame, cum: h.cum})
	h.bytes += entrySize(frame)
	for h.len() > 1 && (h.bytes > h.maxBytes || h.len() > h.maxLen) {
		old := h.entries[h.start]
		h.bytes -= entrySize(old.frame)
		h.entries[h.start] = nil
		h.start++
	}
	// Compact once the dead front is as large as the live part.
	if h.start > 64 && h.start >= h.len() {
		n := copy(h.entries, h.entries[h.start:])
		clear(h.entries[n:])
		h.entries = h.entries[:n]
		h.start = 0
	}
	if h.wake != nil {
		close(h.wake)
		h.wake = nil
	}
	return h.head
}

// entryOverhead is what an entry costs beyond its frame's bytes: the
// entry itself, its pointer in the log, and allocation rounding.
const entryOverhead = 96

// entrySize is the memory an entry is counted for.
func entrySize(frame []byte) int64 { return int64(len(frame)) + entryOverhead }

func (h *history) len() int { return len(h.entries) - h.start }

// first returns the seq of the oldest entry kept (head+1 if none).
func (h *history) first() uint64 {
	if h.len() == 0 {
		return h.head + 1
	}
	return h.entries[h.start].seq
}

// lagLocked returns how many bytes of mods lie after cursor, or -1 if some
// of them are no longer kept.
func (h *history) lagLocked(cursor uint64) int64 {
	if cursor >= h.head {
		return 0
	}
	if cursor+1 < h.first() {
		return -1
	}
	e := h.entries[h.start+int(cursor+1-h.first())]
	return h.cum - e.cum + int64(len(e.frame))
}

// resumable reports whether every mod after seq is kept and they total at
// most maxLag bytes.
func (h *history) resumable(seq uint64, maxLag int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq > h.head {
		return false
	}
	lag := h.lagLocked(seq)
	return lag >= 0 && lag <= maxLag
}

// readStatus is what read found.
type readStatus int

const (
	readOK     readStatus = iota // entries returned
	readWait                     // nothing new: wait on the channel
	readBehind                   // the cursor fell behind: resync
)

// read appends to dst the entries after cursor, up to about maxBatch bytes
// (at least one entry). With nothing new it returns a channel that is
// closed on the next add. If the mods after cursor are no longer all kept
// or total more than maxLag bytes, it returns readBehind.
func (h *history) read(cursor uint64, maxLag, maxBatch int64, dst []*entry) ([]*entry, <-chan struct{}, readStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cursor >= h.head {
		if h.wake == nil {
			h.wake = make(chan struct{})
		}
		return dst, h.wake, readWait
	}
	lag := h.lagLocked(cursor)
	if lag < 0 || lag > maxLag {
		return dst, nil, readBehind
	}
	i := h.start + int(cursor+1-h.first())
	var n int64
	for ; i < len(h.entries) && (n == 0 || n+int64(len(h.entries[i].frame)) <= maxBatch); i++ {
		dst = append(dst, h.entries[i])
		n += int64(len(h.entries[i].frame))
	}
	return dst, nil, readOK
}
