package syncstruct

import (
	"sync"

	"github.com/gorilla/websocket"
)

// entry is one published mod, kept encoded in the native msgpack encoding:
// those bytes are what every msgpack subscriber receives, and the source
// from which any other encoding is made (once, on first use).
type entry struct {
	seq   uint64
	frame []byte // the mod as one msgpack frame; nil when it could not be sent (see resync)
	cum   int64  // bytes of all frames up to and including this one
	group uint64 // seq of the first mod of its group (see Notifier.Hold); its own seq when alone

	mu  sync.Mutex // guards alt
	alt []altBytes // other encodings of the same mod, made on demand

	sharedMu sync.Mutex  // guards shared (apart from mu: making it takes mu)
	shared   []sharedMsg // on a group's last entry: the whole group as one WebSocket message, per encoding
}

// sharedMsg is a group of mods as one WebSocket message (a batch, or the
// mod alone), framed once by gorilla/websocket for every connection that
// writes it.
type sharedMsg struct {
	enc modEncoding
	pm  *websocket.PreparedMessage
	err error
}

// sharedFor returns the group ending at e as one prepared WebSocket
// message in enc, made by build on first use: every subscriber that reads
// the group whole writes the same frame.
func (e *entry) sharedFor(enc modEncoding, build func() (*websocket.PreparedMessage, error)) (*websocket.PreparedMessage, error) {
	e.sharedMu.Lock()
	defer e.sharedMu.Unlock()
	for _, sm := range e.shared {
		if sm.enc == enc {
			return sm.pm, sm.err
		}
	}
	pm, err := build()
	e.shared = append(e.shared, sharedMsg{enc: enc, pm: pm, err: err})
	return pm, err
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
//
// Mods come in groups: one mod alone, or the mods made while the notifier
// was held (Notifier.Hold). Readers see a group only once it is complete
// (visible), so the writers woken by it find it whole and a subscriber
// that keeps up gets it as one message, the same for all of them.
type history struct {
	mu      sync.Mutex // guards everything below
	entries []*entry   // entries[start:] are live, oldest first
	start   int
	head    uint64 // seq of the newest mod (0: none yet)
	visible uint64 // seq of the newest mod readers see: head, unless a group is open
	bytes   int64  // memory of the entries kept (entrySize)
	cum     int64  // cum of the newest entry
	holds   int    // open holds; a group is open while > 0
	group   uint64 // while a group is open: the seq its first mod gets

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
// lock, which is what orders mods. Unless a group is open, the mod is
// visible at once and the waiting readers are woken.
func (h *history) add(frame []byte) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.head++
	h.cum += int64(len(frame))
	group := h.head
	if h.holds > 0 {
		group = h.group
	}
	h.entries = append(h.entries, &entry{seq: h.head, frame: frame, cum: h.cum, group: group})
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
	if h.holds == 0 {
		h.showLocked()
	}
	return h.head
}

// showLocked makes every mod visible and wakes the waiting readers.
func (h *history) showLocked() {
	if h.visible == h.head {
		return
	}
	h.visible = h.head
	if h.wake != nil {
		close(h.wake)
		h.wake = nil
	}
}

// hold opens a group (or joins the open one): the mods added until the
// matching release are shown to readers together.
func (h *history) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holds == 0 {
		h.group = h.head + 1
	}
	h.holds++
}

// release ends a hold; the last one closes the group and shows it.
func (h *history) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holds--
	if h.holds == 0 {
		h.showLocked()
	}
}

// entryOverhead is what an entry costs beyond its frame's bytes: the
// entry itself, its pointer in the log, and allocation rounding.
const entryOverhead = 128

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

// read appends to dst the visible entries after cursor, up to about
// maxBatch bytes (at least one entry); whole reports that they are exactly
// one group, complete. With nothing new it returns a channel that is
// closed when more is visible. If the mods after cursor are no longer all
// kept or total more than maxLag bytes, it returns readBehind.
func (h *history) read(cursor uint64, maxLag, maxBatch int64, dst []*entry) (_ []*entry, whole bool, _ <-chan struct{}, _ readStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cursor >= h.visible {
		if h.wake == nil {
			h.wake = make(chan struct{})
		}
		return dst, false, h.wake, readWait
	}
	lag := h.lagLocked(cursor)
	if lag < 0 || lag > maxLag {
		return dst, false, nil, readBehind
	}
	i := h.start + int(cursor+1-h.first())
	from := len(dst)
	var n int64
	for ; i < len(h.entries) && h.entries[i].seq <= h.visible && (n == 0 || n+int64(len(h.entries[i].frame)) <= maxBatch); i++ {
		dst = append(dst, h.entries[i])
		n += int64(len(h.entries[i].frame))
	}
	// Whole: it starts a group, ends in the same one, and the group ends
	// there (the next entry starts another, or nothing more is visible).
	first, last := dst[from], dst[len(dst)-1]
	whole = first.group == first.seq && last.group == first.seq &&
		(last.seq == h.visible || i < len(h.entries) && h.entries[i].group != first.seq)
	return dst, whole, nil, readOK
}
