package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
)

//go:generate go run github.com/sigoco/sigoco/cmd/sigoco-gen -type Memo -output memo_rpcdoc_gen.go

// MemoTargetName is the rpc target of memo's shared storage.
const MemoTargetName = "memo"

// DefaultMaxMemoValue is MemoOptions.MaxValueSize's default: 32 MiB.
const DefaultMaxMemoValue = 32 << 20

// MemoOptions configures the memo target. The zero value is valid.
type MemoOptions struct {
	// MaxValueSize bounds one entry's value (msgpack bytes). Default
	// DefaultMaxMemoValue; keep it below the server's MaxFrameSize.
	MaxValueSize int
	// MaxLeaseTTL bounds the lease a client asks for. Default 5 min.
	MaxLeaseTTL time.Duration
	// MaxLeaseWait bounds how long one lock call waits. Default 10 s.
	MaxLeaseWait time.Duration
	// MaxLeases bounds the leases held at once. Default 100,000.
	MaxLeases int
	// MaxCacheBytes bounds the values of large entries kept while they
	// are read in parts (see Get). Default 64 MiB.
	MaxCacheBytes int64
}

// Memo is the rpc target "memo": the entries of memo.TrackStorage in the
// server's store (which must implement store.MemoStore), and leases so
// processes on different machines compute an entry once. Its methods are
// called by their snake_case names; docs/memo.md lists them.
//
// Leases live in the server's memory: a restart forgets them (two
// processes may then both compute an entry; one value replaces the other).
type Memo struct {
	st     store.MemoStore
	opts   MemoOptions
	reads  *byteSem    // the server's bound on large reads in progress
	values *memoValues // large values being read in parts

	mu       sync.Mutex // guards leases and held
	leases   map[store.MemoKey]*lease
	held     map[string]int // leases held per identity (Options.Quotas.MaxLeases)
	maxPerID int
}

// lease is held by the client that knows token until expires; freed is
// closed when it is released or taken over after expiring.
type lease struct {
	who     string // the identity charged for it ("" for none)
	token   string
	expires time.Time
	freed   chan struct{}
}

// NewMemo returns the memo target over the server's store; add it with
// s.AddTarget(MemoTargetName, m).
func NewMemo(s *Server, opts MemoOptions) (*Memo, error) {
	ms, ok := s.Store().(store.MemoStore)
	if !ok {
		return nil, fmt.Errorf("track: the store (%T) keeps no memo entries", s.Store())
	}
	if opts.MaxValueSize <= 0 {
		opts.MaxValueSize = DefaultMaxMemoValue
	}
	if opts.MaxLeaseTTL <= 0 {
		opts.MaxLeaseTTL = 5 * time.Minute
	}
	if opts.MaxLeaseWait <= 0 {
		opts.MaxLeaseWait = 10 * time.Second
	}
	if opts.MaxLeases <= 0 {
		opts.MaxLeases = 100_000
	}
	if opts.MaxCacheBytes <= 0 {
		opts.MaxCacheBytes = 64 << 20
	}
	return &Memo{st: ms, opts: opts, reads: s.reads, values: newMemoValues(opts.MaxCacheBytes), leases: map[store.MemoKey]*lease{},
		held: map[string]int{}, maxPerID: s.opts.Quotas.withDefaults().MaxLeases}, nil
}

// MemoLimits are the memo target's limits, for clients to check before
// sending.
type MemoLimits struct {
	MaxValueSize int `msgpack:"max_value_size"`
	MaxParams    int `msgpack:"max_params"`
	MaxKeyLen    int `msgpack:"max_key_len"`
}

// MemoGot is the result of Get and Read: Found false for an absent entry.
type MemoGot struct {
	Found bool             `msgpack:"found"`
	Entry *store.MemoEntry `msgpack:"entry"`
	// Size is the length of the entry's value when Entry.Value holds
	// only a part of it (Get: the first MemoChunk bytes; the rest comes
	// by Read); 0 when Entry.Value is all of it.
	Size int64 `msgpack:"size,omitempty"`
}

// Limits returns the limits entries are checked against.
func (m *Memo) Limits(ctx context.Context) MemoLimits {
	l := store.DefaultLimits
	if ls, ok := m.st.(interface{ Limits() store.Limits }); ok {
		l = ls.Limits()
	}
	return MemoLimits{MaxValueSize: m.opts.MaxValueSize, MaxParams: store.MaxMemoParams, MaxKeyLen: l.MaxKeyLen}
}

// Exists reports whether an entry is stored (without sending it).
func (m *Memo) Exists(ctx context.Context, key store.MemoKey) (bool, error) {
	return m.st.MemoExists(ctx, key)
}

var memoCRC = crc32.MakeTable(crc32.Castagnoli)

// Put stores an entry, replacing any with its key. It refuses a value
// over MaxValueSize, whose CRC-32C does not match, or that is not exactly
// one well-formed msgpack value.
func (m *Memo) Put(ctx context.Context, e store.MemoEntry) error {
	if len(e.Value) > m.opts.MaxValueSize {
		return &store.LimitError{Limit: "MaxValueSize", Item: fmt.Sprintf("memo value of %s(%s)", e.Name, shortText(e.Params)), Size: int64(len(e.Value)), Max: int64(m.opts.MaxValueSize)}
	}
	if crc32.Checksum(e.Value, memoCRC) != e.CRC {
		return fmt.Errorf("%w: memo value of %s(%s): CRC-32C mismatch (damaged on the way)", rpc.ErrValue, e.Name, shortText(e.Params))
	}
	if err := oneMsgpackValue(e.Value); err != nil {
		return fmt.Errorf("%w: memo value of %s(%s) is not one msgpack value: %v", rpc.ErrValue, e.Name, shortText(e.Params), err)
	}
	defer m.values.drop(e.Key())
	return m.st.PutMemo(ctx, &e)
}

// oneMsgpackValue checks that b is exactly one msgpack value, without
// building it (the client decodes it in the value model).
func oneMsgpackValue(b []byte) error {
	r := bytes.NewReader(b)
	d := msgpack.NewDecoder(r)
	if err := d.Skip(); err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if r.Len() > 0 {
		return fmt.Errorf("%d bytes after the value", r.Len())
	}
	return nil
}

// Delete removes an entry (absent is fine).
func (m *Memo) Delete(ctx context.Context, key store.MemoKey) error {
	defer m.values.drop(key)
	return m.st.DeleteMemo(ctx, key)
}

// Lock takes the lease of an entry for ttl_ms (at most MaxLeaseTTL),
// waiting up to wait_ms (at most MaxLeaseWait) for its holder to release
// it or let it expire. It returns the lease's token, or "" if it is still
// held after the wait (call again).
func (m *Memo) Lock(ctx context.Context, key store.MemoKey, ttlMs, waitMs int64) (string, error) {
	ttl := min(time.Duration(ttlMs)*time.Millisecond, m.opts.MaxLeaseTTL)
	if ttl <= 0 {
		return "", fmt.Errorf("%w: lease ttl %d ms", rpc.ErrValue, ttlMs)
	}
	deadline := time.Now().Add(min(max(time.Duration(waitMs)*time.Millisecond, 0), m.opts.MaxLeaseWait))
	for {
		m.mu.Lock()
		now := time.Now()
		l := m.leases[key]
		if l == nil || now.After(l.expires) {
			who := limitedIdentity(ctx)
			if err := m.admitLocked(who, now); err != nil {
				m.mu.Unlock()
				return "", err
			}
			if l = m.leases[key]; l != nil { // expired, taken over (unless admitLocked's sweep dropped it)
				m.dropLocked(key, l)
			} else if len(m.leases) >= m.opts.MaxLeases && !m.sweepLocked(now) {
				m.mu.Unlock()
				return "", &store.LimitError{Limit: "MaxLeases", Item: "memo leases held", Size: int64(len(m.leases)), Max: int64(m.opts.MaxLeases)}
			}
			var tok [16]byte
			rand.Read(tok[:])
			nl := &lease{who: who, token: hex.EncodeToString(tok[:]), expires: now.Add(ttl), freed: make(chan struct{})}
			m.leases[key] = nl
			if who != "" {
				m.held[who]++
			}
			m.mu.Unlock()
			return nl.token, nil
		}
		freed, until := l.freed, deadline
		if l.expires.Before(until) {
			until = l.expires
		}
		m.mu.Unlock()
		if !now.Before(deadline) {
			return "", nil
		}
		t := time.NewTimer(until.Sub(now) + time.Millisecond)
		select {
		case <-freed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		}
		t.Stop()
	}
}

// sweepLocked drops expired leases; it reports whether there is room.
func (m *Memo) sweepLocked(now time.Time) bool {
	for k, l := range m.leases {
		if now.After(l.expires) {
			m.dropLocked(k, l)
		}
	}
	return len(m.leases) < m.opts.MaxLeases
}

// dropLocked releases lease l of key.
func (m *Memo) dropLocked(key store.MemoKey, l *lease) {
	close(l.freed)
	delete(m.leases, key)
	if l.who != "" {
		if m.held[l.who]--; m.held[l.who] <= 0 {
			delete(m.held, l.who)
		}
	}
}

// admitLocked refuses one more lease for who past its quota
// (Quotas.MaxLeases), after dropping expired leases ("" and a negative
// quota: no limit).
func (m *Memo) admitLocked(who string, now time.Time) error {
	if who == "" || m.maxPerID < 0 || m.held[who] < m.maxPerID {
		return nil
	}
	m.sweepLocked(now)
	if n := m.held[who]; n >= m.maxPerID {
		return &store.QuotaError{Identity: who, Quota: "MaxLeases", Flag: "--max-leases", Count: int64(n), Max: int64(m.maxPerID),
			What: "memo leases", Hint: "unlock one (or let it expire) first"}
	}
	return nil
}

// Renew extends a lease held with token by ttl_ms; false if it is no
// longer held (it expired and another client took it, or the server
// restarted).
func (m *Memo) Renew(ctx context.Context, key store.MemoKey, token string, ttlMs int64) (bool, error) {
	ttl := min(time.Duration(ttlMs)*time.Millisecond, m.opts.MaxLeaseTTL)
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.leases[key]
	if l == nil || l.token != token || time.Now().After(l.expires) {
		return false, nil
	}
	l.expires = time.Now().Add(ttl)
	return true, nil
}

// Unlock releases a lease held with token (a stale token is ignored).
func (m *Memo) Unlock(ctx context.Context, key store.MemoKey, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.leases[key]; l != nil && l.token == token {
		m.dropLocked(key, l)
	}
	return nil
}

func shortText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
