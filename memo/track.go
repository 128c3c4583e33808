package memo

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/sigoco/sigoco/internal/failover"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
)

// TrackTarget is the rpc target of the tracking server that keeps memo
// entries (track/server.MemoTargetName).
const TrackTarget = "memo"

// The tracking server's address when OpenTrack is given none: the same
// rule as track.Options.Addr (track.EnvAddr, track.DefaultAddr).
const (
	trackEnvAddr     = "SIGOCO_TRACK_ADDR"
	trackDefaultAddr = "127.0.0.1:3250"
)

// TrackOptions configure a TrackStorage. Project is required; the other
// zero values work.
type TrackOptions struct {
	// Project scopes the entries: caches with the same project on the same
	// server share them.
	Project string
	// TLS, if set, makes the connection TLS.
	TLS *tls.Config
	// Token authenticates to a server with an access file
	// (docs/security.md); the memo target needs the runner role to write.
	// Default $SIGOCO_TOKEN.
	Token string
	// HandshakeTimeout bounds the connection's handshake. Default
	// wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// LeaseTTL is how long a lock lasts on the server without renewal;
	// the holder renews it every LeaseTTL/3, so a process that dies
	// blocks others at most this long. Default 30 s.
	LeaseTTL time.Duration
	// Logger reports a lease lost while computing (at Warn); nil discards.
	Logger *slog.Logger
}

// TrackStorage keeps entries on a tracking server (trackd), in its store,
// so a team shares cached metrics across machines: entries are keyed by
// project and Key, each records its date, duration and Entry.Run, and the
// value travels and is stored as msgpack of the value model (arrays as
// numpy arrays) with a CRC-32C. It implements Storage, Exister and Locker
// (a lease on the server, renewed while held and released when its holder
// dies by expiring after LeaseTTL).
//
// A TrackStorage is safe for concurrent use. It redials when the
// connection was lost, to the next server if addr lists several
// ("a:3250,b:3250", nodes sharing one store: package internal/failover);
// every call is idempotent, so a call that failed that way is sent once
// more. Close it when done.
type TrackStorage struct {
	addr   string
	opts   TrackOptions
	log    *slog.Logger
	limits trackLimits
	c      *failover.Conn
}

// trackMethods are the memo target's methods: all idempotent.
var trackMethods = []string{"limits", "get", "read", "put", "delete", "exists", "lock", "renew", "unlock"}

type trackLimits struct {
	MaxValueSize int `msgpack:"max_value_size"`
	MaxParams    int `msgpack:"max_params"`
	MaxKeyLen    int `msgpack:"max_key_len"`
}

// ErrTrackClosed is returned by calls on a closed TrackStorage.
var ErrTrackClosed = errors.New("memo: track storage closed")

// OpenTrack connects to the tracking server at addr ("" means
// $SIGOCO_TRACK_ADDR, else 127.0.0.1:3250, as for track.Start) and reads
// its limits.
func OpenTrack(ctx context.Context, addr string, opts TrackOptions) (*TrackStorage, error) {
	if opts.Project == "" {
		return nil, fmt.Errorf("%w: TrackOptions.Project is empty", ErrParams)
	}
	if addr == "" {
		if addr = os.Getenv(trackEnvAddr); addr == "" {
			addr = trackDefaultAddr
		}
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 30 * time.Second
	}
	s := &TrackStorage{addr: addr, opts: opts, log: opts.Logger}
	s.c = failover.NewConn(failover.NewList(addr), TrackTarget,
		rpc.ClientOptions{TLS: opts.TLS, HandshakeTimeout: opts.HandshakeTimeout, Token: opts.Token}, trackMethods...)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.call(ctx, &s.limits, "limits"); err != nil {
		s.Close()
		return nil, err
	}
	if len(opts.Project) > s.limits.MaxKeyLen {
		s.Close()
		return nil, fmt.Errorf("%w: project is %d bytes, over the tracking server's limit of %d", ErrParams, len(opts.Project), s.limits.MaxKeyLen)
	}
	return s, nil
}

// Project is the storage's project.
func (s *TrackStorage) Project() string { return s.opts.Project }

// MaxValueSize is the largest value (msgpack bytes) the server takes.
func (s *TrackStorage) MaxValueSize() int { return s.limits.MaxValueSize }

// Close closes the connection. It is idempotent.
func (s *TrackStorage) Close() error { return s.c.Close() }

// call calls method on the server in use, failing over as TrackStorage
// says.
func (s *TrackStorage) call(ctx context.Context, out any, method string, args ...any) error {
	err := s.c.CallInto(ctx, out, method, args...)
	if errors.Is(err, failover.ErrClosed) {
		return ErrTrackClosed
	}
	if err != nil {
		return fmt.Errorf("memo: tracking server: %s: %w", method, err)
	}
	return nil
}

func (s *TrackStorage) key(k Key) (store.MemoKey, error) {
	if !validName(k.Name) {
		return store.MemoKey{}, fmt.Errorf("%w: invalid metric name %q", ErrParams, k.Name)
	}
	if len(k.Params) > s.limits.MaxParams {
		return store.MemoKey{}, fmt.Errorf("%w: %s: parameters are %d bytes, over the tracking server's limit of %d", ErrParams, k.Name, len(k.Params), s.limits.MaxParams)
	}
	return store.MemoKey{Project: s.opts.Project, Name: k.Name, Params: k.Params}, nil
}

// Load reads the entry from the server. A value whose checksum or
// encoding does not check out is a *CorruptError, never returned.
func (s *TrackStorage) Load(ctx context.Context, key Key) (*Entry, error) {
	mk, err := s.key(key)
	if err != nil {
		return nil, err
	}
	me, err := s.fetch(ctx, mk)
	if err != nil {
		return nil, err
	}
	if me == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	corrupt := func(reason string) error {
		return &CorruptError{Key: key, Reason: reason + " (tracking server, project " + s.opts.Project + ")"}
	}
	if me.Key() != mk {
		return nil, corrupt(fmt.Sprintf("holds %s(%s) of project %s", me.Name, me.Params, me.Project))
	}
	if crc32.Checksum(me.Value, castagnoli) != me.CRC {
		return nil, corrupt("checksum mismatch")
	}
	v, err := decodeMsgpack(me.Value)
	if err != nil {
		return nil, corrupt("value: " + err.Error())
	}
	if a, ok := asArray(v); ok {
		if v, err = arrayValue(a); err != nil {
			return nil, corrupt("value: " + err.Error())
		}
	}
	return &Entry{
		Key:      key,
		Value:    v,
		Computed: time.Unix(0, me.ComputedNs).UTC(),
		Duration: time.Duration(me.DurationNs),
		Run:      me.Run,
	}, nil
}

// memoGot is the server's answer to get and read (track/server.MemoGot).
type memoGot struct {
	Found bool             `msgpack:"found"`
	Entry *store.MemoEntry `msgpack:"entry"`
	Size  int64            `msgpack:"size"` // the value's length when Entry.Value is only a part
}

// memoChunk is what the client asks of a large value per read (the
// server sends at most track/server.MemoChunk, 1 MiB).
const memoChunk = 1 << 20

// fetch gets an entry (nil if there is none). A large value comes in
// parts (get, then read): if the entry is replaced meanwhile (its CRC
// changes) it starts again, a few times.
func (s *TrackStorage) fetch(ctx context.Context, mk store.MemoKey) (*store.MemoEntry, error) {
	for try := 0; ; try++ {
		var got memoGot
		if err := s.call(ctx, &got, "get", mk); err != nil {
			return nil, err
		}
		if !got.Found || got.Entry == nil {
			return nil, nil
		}
		me := got.Entry
		if got.Size <= int64(len(me.Value)) {
			return me, nil
		}
		if got.Size > int64(s.limits.MaxValueSize) && s.limits.MaxValueSize > 0 {
			return nil, &CorruptError{Key: Key{Name: mk.Name, Params: mk.Params}, Reason: fmt.Sprintf("a value of %d bytes, over the server's limit of %d (tracking server, project %s)", got.Size, s.limits.MaxValueSize, s.opts.Project)}
		}
		value := make([]byte, 0, got.Size)
		value = append(value, me.Value...)
		changed := false
		for int64(len(value)) < got.Size && !changed {
			var part memoGot
			if err := s.call(ctx, &part, "read", mk, int64(len(value)), int64(memoChunk)); err != nil {
				return nil, err
			}
			if !part.Found || part.Entry == nil {
				return nil, nil // deleted meanwhile
			}
			changed = part.Entry.CRC != me.CRC || max(part.Size, int64(len(part.Entry.Value))) != got.Size || len(part.Entry.Value) == 0
			value = append(value, part.Entry.Value...)
		}
		if !changed {
			me.Value = value
			return me, nil
		}
		if try >= 3 {
			return nil, fmt.Errorf("memo: tracking server: %s(%s) kept changing while it was read", mk.Name, mk.Params)
		}
	}
}

// Save stores the entry on the server, replacing any with its key. A
// value over the server's limit is refused here, before it is sent
// (ErrValue, naming the sizes).
func (s *TrackStorage) Save(ctx context.Context, e *Entry) error {
	mk, err := s.key(e.Key)
	if err != nil {
		return err
	}
	v := e.Value
	if a, ok := asArray(v); ok {
		v, _ = arrayValue(a)
	}
	var buf bytes.Buffer
	if err := encodeMsgpack(&buf, v); err != nil {
		return fmt.Errorf("memo: %s: %w", e.Key, err)
	}
	if buf.Len() > s.limits.MaxValueSize {
		return fmt.Errorf("%w: %s: the value is %d bytes (msgpack), over the tracking server's limit of %d", ErrValue, e.Key, buf.Len(), s.limits.MaxValueSize)
	}
	if len(e.Run) > s.limits.MaxKeyLen {
		return fmt.Errorf("%w: %s: run %q is over the tracking server's limit of %d bytes", ErrValue, e.Key, e.Run, s.limits.MaxKeyLen)
	}
	me := store.MemoEntry{
		Project:    mk.Project,
		Name:       mk.Name,
		Params:     mk.Params,
		Value:      buf.Bytes(),
		CRC:        crc32.Checksum(buf.Bytes(), castagnoli),
		ComputedNs: e.Computed.UnixNano(),
		DurationNs: int64(e.Duration),
		Run:        e.Run,
	}
	return s.call(ctx, nil, "put", me)
}

// Delete removes the entry from the server.
func (s *TrackStorage) Delete(ctx context.Context, key Key) error {
	mk, err := s.key(key)
	if err != nil {
		return err
	}
	return s.call(ctx, nil, "delete", mk)
}

// Exists reports whether the server holds the entry (without sending it).
func (s *TrackStorage) Exists(ctx context.Context, key Key) (bool, error) {
	mk, err := s.key(key)
	if err != nil {
		return false, err
	}
	var ok bool
	return ok, s.call(ctx, &ok, "exists", mk)
}

// Lock takes the entry's lease on the server, waiting until it is free or
// ctx ends. While held it is renewed every LeaseTTL/3 by a goroutine that
// unlock stops (unlock waits for it, then releases the lease). A holder
// that dies stops renewing: its lease expires after LeaseTTL. If a renewal
// fails (the server restarted, or the connection was lost for longer than
// LeaseTTL), another process may compute the entry too; it is logged.
func (s *TrackStorage) Lock(ctx context.Context, key Key) (func(), error) {
	mk, err := s.key(key)
	if err != nil {
		return nil, err
	}
	ttlMs := s.opts.LeaseTTL.Milliseconds()
	var token string
	for token == "" {
		wait := 10 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		if wait <= 0 {
			return nil, context.DeadlineExceeded
		}
		if err := s.call(ctx, &token, "lock", mk, ttlMs, wait.Milliseconds()); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.opts.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			rctx, cancel := context.WithTimeout(context.Background(), s.opts.LeaseTTL/3)
			var held bool
			err := s.call(rctx, &held, "renew", mk, token, ttlMs)
			cancel()
			if err == nil && !held {
				s.log.Warn("memo: lease lost while computing; another process may compute it too", "key", key.String())
				return
			}
			if err != nil {
				s.log.Warn("memo: renewing a lease", "key", key.String(), "err", err)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.call(uctx, nil, "unlock", mk, token); err != nil {
				s.log.Warn("memo: releasing a lease (it expires by itself)", "key", key.String(), "err", err)
			}
		})
	}, nil
}
