package syncstruct

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"github.com/sigoco/sigoco/pyon"
	"sync"

	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// NotifierOptions configures a Notifier. The zero value is valid.
type NotifierOptions struct {
	// HistoryBytes bounds the memory of the recent mods kept (their
	// msgpack encoding plus about 100 bytes of bookkeeping each). They are
	// the fan-out queue every subscriber reads from and the history a
	// reconnecting subscriber resumes from. Each other encoding in use
	// (JSON for browsers, PYON lines for SiPyCo subscribers) adds its own
	// copy of the kept mods it has sent, made once per mod, of about the
	// same size; a group of mods that WebSocket subscribers read whole
	// (see Hold) keeps the one message they share, about twice the group's
	// size per encoding. Default 4 MiB.
	HistoryBytes int
	// HistoryLen bounds the number of recent mods kept. Default 65536.
	HistoryLen int
	// MaxModSize is the largest encoded mod sent as a mod; subscribers get
	// a fresh snapshot in place of a larger one. Default
	// wire.DefaultMaxFrameSize (what a subscriber accepts by default).
	MaxModSize int
	// Epoch identifies this notifier's sequence of mods; 0 (the default)
	// picks a random one, which is what every program wants. Fixed epochs
	// are for replaying recorded exchanges in tests.
	Epoch uint64
}

// Notifier owns a tree and records every change to it as a mod. All
// mutations go through it (see Node); reads go through Read or Copy.
//
// A Notifier is safe for use by many goroutines. Mods are numbered and
// published in the order the tree changed.
type Notifier struct {
	mu    sync.RWMutex // guards tree and the order of mods
	tree  any
	epoch uint64
	opts  NotifierOptions
	hist  *history
	enc   *wire.Encoder // encodes mods under mu, limited to MaxModSize
}

// NewNotifier returns a Notifier owning a normalized deep copy of tree (see
// Normalize); a nil tree starts as an empty dict.
func NewNotifier(tree any, opts NotifierOptions) (*Notifier, error) {
	if tree == nil {
		tree = map[string]any{}
	}
	t, err := normalize(tree, treeDepth)
	if err != nil {
		return nil, err
	}
	if opts.HistoryBytes <= 0 {
		opts.HistoryBytes = 4 << 20
	}
	if opts.HistoryLen <= 0 {
		opts.HistoryLen = 1 << 16
	}
	if opts.MaxModSize <= 0 {
		opts.MaxModSize = wire.DefaultMaxFrameSize
	}
	if opts.Epoch == 0 {
		opts.Epoch = newEpoch()
	}
	return &Notifier{
		tree:  t,
		epoch: opts.Epoch,
		opts:  opts,
		hist:  newHistory(opts.HistoryBytes, opts.HistoryLen),
		enc:   wire.NewEncoder(opts.MaxModSize),
	}, nil
}

// newEpoch returns a random epoch in [1, 2^53): exact as a JavaScript
// number, so browsers can send it back.
func newEpoch() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])&(1<<53-1) | 1
}

// Epoch returns the notifier's epoch.
func (n *Notifier) Epoch() uint64 { return n.epoch }

// Seq returns the sequence number of the last mod (0 before the first).
func (n *Notifier) Seq() uint64 {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.hist.head
}

// Read calls fn with the tree, read-locked: fn must not modify the tree,
// keep references into it, or call the Notifier's mutating methods.
func (n *Notifier) Read(fn func(tree any)) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	fn(n.tree)
}

// Copy returns a deep copy of the tree.
func (n *Notifier) Copy() any {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return Copy(n.tree)
}

// Hold groups the mods made from now until release is called: subscribers
// receive them together, after release, as they would one mod — a
// WebSocket subscriber that keeps up gets the group as one message, the
// same bytes for all of them (encoded and framed once). The tree changes
// at once as usual (Read, Copy and snapshots see every mod); only the
// delivery waits. Use it around the several changes of one update (a
// periodic publisher's tick), so that subscribers are woken once per
// update instead of once per mod; without it each mod goes out as soon as
// it is made.
//
// Holds nest, from any goroutines: the group closes when the last one is
// released. release must be called exactly once (later calls do nothing),
// and soon: nothing made after Hold is delivered until then.
func (n *Notifier) Hold() (release func()) {
	n.hist.hold()
	var once sync.Once
	return func() { once.Do(n.hist.release) }
}

// Root returns the node of the whole tree.
func (n *Notifier) Root() Node { return Node{n: n} }

// At returns the node at path (keys and list indices from the root). The
// path is checked when the node is used, not here.
func (n *Notifier) At(path ...any) Node { return Node{n: n}.At(path...) }

// Set sets key to value in the root dict (or list, for an int key).
func (n *Notifier) Set(key, value any) error { return n.Root().Set(key, value) }

// Delete removes key from the root dict (or list).
func (n *Notifier) Delete(key any) error { return n.Root().Delete(key) }

// Append appends x to the root list.
func (n *Notifier) Append(x any) error { return n.Root().Append(x) }

// Insert inserts x at index i of the root list.
func (n *Notifier) Insert(i int, x any) error { return n.Root().Insert(i, x) }

// Pop removes and returns element i (-1: the last) of the root list.
func (n *Notifier) Pop(i int) (any, error) { return n.Root().Pop(i) }

// Node is a position in a Notifier's tree: a path from the root. Its
// methods mutate the container at that position and publish the mod; they
// return an error, and change nothing, when the path, index or types do not
// fit. A Node is a small value; copy it freely.
type Node struct {
	n    *Notifier
	path []any
	err  error // a path element that cannot be a key
}

// At returns the node at path below this one.
func (nd Node) At(path ...any) Node {
	p := make([]any, len(nd.path), len(nd.path)+len(path))
	copy(p, nd.path)
	for _, k := range path {
		nk, err := normalizeKey(k)
		if err != nil && nd.err == nil {
			nd.err = err
		}
		p = append(p, nk)
	}
	nd.path = p
	return nd
}

// Path returns a copy of the node's path.
func (nd Node) Path() []any { return append([]any(nil), nd.path...) }

// Set sets key to value in the dict at this node (for a list, key is an
// index). value is copied (see Normalize).
func (nd Node) Set(key, value any) error {
	k, err := normalizeKey(key)
	if err != nil {
		return err
	}
	v, err := nd.normalize(value)
	if err != nil {
		return err
	}
	_, err = nd.do(&Mod{Action: ActSetItem, Key: k, Value: v})
	return err
}

// Delete removes key from the dict at this node (for a list, key is an
// index).
func (nd Node) Delete(key any) error {
	k, err := normalizeKey(key)
	if err != nil {
		return err
	}
	_, err = nd.do(&Mod{Action: ActDelItem, Key: k})
	return err
}

// Append appends x to the list at this node.
func (nd Node) Append(x any) error {
	v, err := nd.normalize(x)
	if err != nil {
		return err
	}
	_, err = nd.do(&Mod{Action: ActAppend, X: v})
	return err
}

// Insert inserts x before index i of the list at this node (Python's
// list.insert: i is clamped to the list).
func (nd Node) Insert(i int, x any) error {
	v, err := nd.normalize(x)
	if err != nil {
		return err
	}
	_, err = nd.do(&Mod{Action: ActInsert, I: i, X: v})
	return err
}

// Pop removes and returns element i of the list at this node; -1 is the
// last. The element is no longer part of the tree: it is the caller's.
func (nd Node) Pop(i int) (any, error) {
	return nd.do(&Mod{Action: ActPop, I: i})
}

// PopKey removes key from the dict at this node and returns its value
// (Python's dict.pop(key); a missing key is ErrNoKey). It is published as
// a delitem, which every replica (SiPyCo's included) applies the same way.
func (nd Node) PopKey(key any) (any, error) {
	k, err := normalizeKey(key)
	if err != nil {
		return nil, err
	}
	if !isKey(k) {
		return nil, fmt.Errorf("%w: %s", ErrBadKey, typeName(k))
	}
	return nd.do(&Mod{Action: ActDelItem, Key: k})
}

// SetSlice replaces elements lo to hi (Python's x[lo:hi] = values; the
// bounds follow Python's slice rules) of the list at this node with
// values, a list or tuple of any length.
func (nd Node) SetSlice(lo, hi int, values any) error {
	v, err := nd.normalize(values)
	if err != nil {
		return err
	}
	_, err = nd.do(&Mod{Action: ActSetItem, Key: pyon.Slice{Start: int64(lo), Stop: int64(hi)}, Value: v})
	return err
}

// DeleteSlice removes elements lo to hi of the list at this node
// (Python's del x[lo:hi]).
func (nd Node) DeleteSlice(lo, hi int) error {
	_, err := nd.do(&Mod{Action: ActDelItem, Key: pyon.Slice{Start: int64(lo), Stop: int64(hi)}})
	return err
}

// treeDepth is the depth at which a tree is normalized: one level is kept
// free because JSON encodes a tree one level down (in its init mod), and a
// tree some encoding cannot snapshot would lock every subscriber out.
const treeDepth = 1

// normalize normalizes a value to be put in the container at this node,
// so that the tree stays within the depth every encoding can snapshot.
func (nd Node) normalize(v any) (any, error) {
	return normalize(v, treeDepth+len(nd.path)+1)
}

// Get returns a deep copy of the value at this node.
func (nd Node) Get() (any, error) {
	if nd.err != nil {
		return nil, nd.err
	}
	nd.n.mu.RLock()
	defer nd.n.mu.RUnlock()
	v := nd.n.tree
	for i, k := range nd.path {
		c, err := getChild(v, k)
		if err != nil {
			return nil, fmt.Errorf("%w: at depth %d: %w", ErrBadPath, i, err)
		}
		v = c
	}
	return Copy(v), nil
}

func (nd Node) do(m *Mod) (any, error) {
	if nd.err != nil {
		return nil, nd.err
	}
	m.Path = nd.path
	if m.Path == nil {
		m.Path = []any{}
	}
	n := nd.n
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.applyLocked(m)
}

// applyLocked applies m to the tree and publishes it. The caller holds
// n.mu for writing.
func (n *Notifier) applyLocked(m *Mod) (any, error) {
	root, popped, err := apply(n.tree, m)
	if err != nil {
		return nil, err
	}
	n.tree = root
	n.publishLocked(m)
	return popped, nil
}

// publishLocked encodes m once and adds it to the history. A mod over
// MaxModSize is kept as a nil frame: its readers are resynced.
func (n *Notifier) publishLocked(m *Mod) {
	m.Seq = n.hist.head + 1
	b, err := n.enc.Append(n.enc.B[:0], func(e *msgpack.Encoder) error { return encodeMod(e, m) })
	var frame []byte
	if err == nil {
		frame = append(make([]byte, 0, len(b)), b...)
	}
	n.enc.Keep(b) // the scratch buffer for the next mod
	n.hist.add(frame)
}

// snapshot encodes the tree with enc into pieces of at most
// wire.DefaultChunkSize bytes, read-locked, and returns them with the sequence number of the
// last mod they include: a subscriber that continues from that number
// misses nothing and gets nothing twice.
func (n *Notifier) snapshot(enc modEncoding, framed bool) ([][]byte, uint64, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	c := newChunker(framed)
	seq := n.hist.head
	if err := enc.WriteInit(c, n.tree, seq); err != nil {
		return nil, 0, err
	}
	return c.Pieces(), seq, nil
}

// normalizeKey normalizes a key or path element.
func normalizeKey(k any) (any, error) {
	nk, err := Normalize(k)
	if err != nil {
		return nil, err
	}
	if !isIndexKey(nk) {
		return nil, fmt.Errorf("%w: %s", ErrBadKey, typeName(nk))
	}
	return nk, nil
}
