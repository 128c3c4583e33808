package track

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/track/store"
)

// Status is a run's state (SimService's lifecycle, plus crashed, which only
// the server sets).
type Status = store.Status

// The statuses a run moves through.
const (
	StatusRegistered  = store.StatusRegistered
	StatusLoaded      = store.StatusLoaded
	StatusInitialized = store.StatusInitialized
	StatusStarted     = store.StatusStarted
	StatusRunning     = store.StatusRunning
	StatusFinished    = store.StatusFinished
	StatusStopped     = store.StatusStopped
	StatusFailed      = store.StatusFailed
	StatusCrashed     = store.StatusCrashed
)

// Errors of the client.
var (
	// ErrSpooled: Flush or End ended before the server took everything;
	// the rest is in the spool and will be replayed (see package doc).
	ErrSpooled = errors.New("track: server unavailable; records spooled to disk")
	// ErrDropped: records were dropped (queue or spool full, or logged
	// after End).
	ErrDropped = errors.New("track: records dropped")
	// ErrEnded: End was already called.
	ErrEnded = errors.New("track: run already ended")
)

// RecordError is an error the server returned for one record.
type RecordError struct {
	Run string
	Seq int64
	Err string // the server's message
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("track: run %s record %d: %s", e.Run, e.Seq, e.Err)
}

// queue is what waits to be sent, in seq order.
type queue struct {
	recs   []store.Record
	keys   []string
	keyIdx map[string]int64
	key    []int64
	seq    []int64
	step   []int64
	tm     []int64
	val    []float64
}

func (q *queue) n() int { return len(q.recs) + len(q.seq) }

func (q *queue) reset() {
	q.recs = q.recs[:0]
	q.keys = q.keys[:0]
	clear(q.keyIdx)
	q.key, q.seq, q.step, q.tm, q.val = q.key[:0], q.seq[:0], q.step[:0], q.tm[:0], q.val[:0]
}

// Run is one tracked run. Its methods never block on the network and are
// safe for concurrent use; the methods of a nil *Run do nothing.
type Run struct {
	opts Options
	id   string
	dir  string // this run's spool directory
	log  *slog.Logger
	t0   time.Time

	mu      sync.Mutex // guards q, seq, ended, dropped
	q       *queue
	spare   *queue // the queue being sent, reused
	seq     int64
	ended   bool
	dropped int64

	wake chan struct{} // nudges the sender (buffered, 1)

	// Delivery state, guarded by dmu; cond signals acked and errs changes.
	dmu      sync.Mutex
	cond     *sync.Cond
	acked    int64 // every record up to here is stored or refused
	spooled  int64 // every record up to here is at least in the spool
	errs     []error
	reported int // errs[:reported] were returned by Flush or End

	counts    countSet
	profile   *os.File           // the CPU profile being written, if any
	sys       *sysSampler        // the sys.* series' sampler, if on (sysmetrics.go)
	srcDone   chan struct{}      // closed when the source snapshot is recorded; nil without one
	srcCancel context.CancelFunc // abandons the source snapshot
	fwd       *logfwd.Forwarder
	logger    *slog.Logger

	credMu sync.Mutex
	cred   string // the run's write credential (credential.go)

	snd *sender
	up  *uploader
	ex  *exposer

	ctx    context.Context // the run's lifetime, cancelled when it is closed
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stats struct {
		sent, spooledN, replayed atomic.Int64
	}
}

// Start starts a run. It returns at once, also while the server is down
// (the run is then spooled); the error is only for bad options or an
// unusable spool directory.
func Start(ctx context.Context, opts Options) (*Run, error) {
	opts.defaults()
	if err := store.CheckRunID(opts.ID); err != nil {
		return nil, fmt.Errorf("track: Options.ID or $%s: %w", EnvRun, err) // it names the spool directory; the server refuses it
	}
	if opts.Parent != "" {
		if err := store.CheckRunID(opts.Parent); err != nil {
			return nil, fmt.Errorf("track: Options.Parent or $%s: %w", EnvParent, err)
		}
		if opts.Parent == opts.ID {
			return nil, fmt.Errorf("track: Options.Parent: run %s cannot be its own parent", opts.ID)
		}
	}
	r := &Run{opts: opts, id: opts.ID, log: opts.Logger, t0: time.Now(), q: newQueue(), spare: newQueue(), wake: make(chan struct{}, 1)}
	r.cond = sync.NewCond(&r.dmu)
	r.dir = filepath.Join(opts.SpoolDir, r.id)
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, fmt.Errorf("track: spool directory: %w", err)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	var err error
	r.snd, err = newSender(r)
	if err == nil {
		// After the lock: the spool directory is this process's now.
		if r.cred = readCredential(r.dir); opts.Credential != "" {
			r.setCredential(opts.Credential)
		}
	}
	if err != nil {
		r.cancel()
		return nil, err
	}
	if opts.Resume {
		last, err := r.resume(ctx)
		if err != nil {
			r.cancel()
			r.snd.close()
			return nil, err
		}
		r.seq, r.acked, r.spooled = last, last, last
	}
	r.up = newUploader(r)
	r.ex = newExposer(r)
	r.record(store.Record{Kind: store.KindStart, Key: opts.Project, Value: opts.Name})
	if opts.Parent != "" && r.seq == 1 { // a new run: the parent goes in the batch that creates it
		r.record(store.Record{Kind: store.KindParent, Key: opts.Parent})
	}
	r.SetStatus(StatusRegistered)
	if !opts.NoMetadata {
		r.AddMetadataMap(startMetadata())
	}
	fwd, err := logfwd.NewForwarder(opts.Addr, logfwd.ForwarderOptions{Source: r.id, Level: opts.LogLevel, TLS: opts.TLS, Logger: opts.Logger, Token: r.token(), Fallback: opts.Addrs[1:]}) // the other servers in turn
	if err != nil {
		r.cancel()
		r.snd.close()
		return nil, fmt.Errorf("track: log forwarder: %w", err)
	}
	r.fwd = fwd
	var h slog.Handler = fwd
	if opts.LogToStderr {
		h = logfwd.Tee(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: opts.LogLevel}), fwd)
	}
	r.logger = slog.New(h)
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.snd.run(r.ctx) }()
	go func() { defer r.wg.Done(); r.up.run(r.ctx) }()
	r.startOrphanReplay()
	if !opts.NoMetadata && !opts.NoSource {
		r.snapshotSource(opts.MaxSourceBytes)
	}
	if opts.CPUProfile {
		r.startProfile()
	}
	r.startSysMetrics()
	return r, nil
}

func newQueue() *queue { return &queue{keyIdx: map[string]int64{}} }

// ID returns the run id.
func (r *Run) ID() string {
	if r == nil {
		return ""
	}
	return r.id
}

// Logger returns a logger whose records are this run's logs on the server
// (and on stderr with Options.LogToStderr).
func (r *Run) Logger() *slog.Logger {
	if r == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.logger
}

// record enqueues one record and returns its seq (0 if dropped).
func (r *Run) record(rec store.Record) int64 {
	if rec.Time == 0 {
		rec.Time = time.Now().UnixNano()
	}
	r.mu.Lock()
	if r.ended {
		r.dropped++
		r.mu.Unlock()
		return 0
	}
	r.seq++
	rec.Seq = r.seq
	r.q.recs = append(r.q.recs, rec)
	full := r.q.n() >= r.opts.BatchSize
	r.mu.Unlock()
	if full {
		r.nudge()
	}
	return rec.Seq
}

func (r *Run) nudge() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// fail records an error found on the client side (a value that cannot be
// encoded), to be returned by the next Flush or End.
func (r *Run) fail(err error) {
	r.dmu.Lock()
	r.errs = append(r.errs, err)
	r.dmu.Unlock()
}

// LogParam records a param: write-once; the same value again is fine, a
// different value is an error (returned by the next Flush or End).
func (r *Run) LogParam(key string, value any) {
	if r == nil {
		nilRun("LogParam")
		return
	}
	v, err := normalize(value)
	if err != nil {
		r.fail(fmt.Errorf("track: param %q: %w", key, err))
		return
	}
	r.record(store.Record{Kind: store.KindParam, Key: key, Value: v})
}

// LogParams records several params (in key order).
func (r *Run) LogParams(params map[string]any) {
	for _, k := range sortedKeys(params) {
		r.LogParam(k, params[k])
	}
}

// LogResult appends (value, step, now) to the result series key. A number
// (any Go integer or float type) costs no allocation; other values (arrays,
// strings, maps, structs) are copied when logged. A series holds either
// numbers or other values, not both.
func (r *Run) LogResult(key string, value any, step int64) {
	if r == nil {
		nilRun("LogResult")
		return
	}
	switch v := value.(type) {
	case float64:
		r.point(key, v, step)
	case float32:
		r.point(key, float64(v), step)
	case int:
		r.point(key, float64(v), step)
	case int64:
		r.point(key, float64(v), step)
	case int32:
		r.point(key, float64(v), step)
	default:
		if f, ok := store.ScalarOf(value); ok {
			r.point(key, f, step)
			return
		}
		r.valueResult(key, value, step)
	}
}

func (r *Run) valueResult(key string, value any, step int64) {
	v, err := normalize(value)
	if err != nil {
		r.fail(fmt.Errorf("track: result %q: %w", key, err))
		return
	}
	r.record(store.Record{Kind: store.KindResult, Key: key, Value: v, Step: step})
}

// point enqueues one scalar result: the hot path.
func (r *Run) point(key string, v float64, step int64) {
	now := time.Now().UnixNano()
	r.mu.Lock()
	q := r.q
	if r.ended || q.n() >= r.opts.MaxQueued {
		r.dropped++
		r.mu.Unlock()
		return
	}
	k, ok := q.keyIdx[key]
	if !ok {
		k = int64(len(q.keys))
		q.keys = append(q.keys, key)
		q.keyIdx[key] = k
	}
	r.seq++
	q.key = append(q.key, k)
	q.seq = append(q.seq, r.seq)
	q.step = append(q.step, step)
	q.tm = append(q.tm, now)
	q.val = append(q.val, v)
	full := q.n() >= r.opts.BatchSize
	r.mu.Unlock()
	if full {
		r.nudge()
	}
}

// LogResults logs several results at one step (in key order).
func (r *Run) LogResults(results map[string]any, step int64) {
	for _, k := range sortedKeys(results) {
		r.LogResult(k, results[k], step)
	}
}

// AddMetadata sets a metadata entry (the last value wins).
func (r *Run) AddMetadata(key string, value any) {
	if r == nil {
		nilRun("AddMetadata")
		return
	}
	v, err := normalize(value)
	if err != nil {
		r.fail(fmt.Errorf("track: metadata %q: %w", key, err))
		return
	}
	r.record(store.Record{Kind: store.KindMeta, Key: key, Value: v})
}

// AddMetadataMap sets several metadata entries.
func (r *Run) AddMetadataMap(m map[string]any) {
	for _, k := range sortedKeys(m) {
		r.AddMetadata(k, m[k])
	}
}

// AddNote adds a free-text note.
func (r *Run) AddNote(text string) {
	if r == nil {
		nilRun("AddNote")
		return
	}
	r.record(store.Record{Kind: store.KindNote, Value: text})
}

// AddTag tags the run.
func (r *Run) AddTag(tag string) {
	if r == nil {
		nilRun("AddTag")
		return
	}
	r.record(store.Record{Kind: store.KindTag, Key: tag})
}

// RemoveTag removes a tag.
func (r *Run) RemoveTag(tag string) {
	if r == nil {
		return
	}
	r.record(store.Record{Kind: store.KindUntag, Key: tag})
}

// SetStatus sets the run's status, with an optional message (e.g. why it
// failed).
func (r *Run) SetStatus(s Status, message ...string) {
	if r == nil {
		nilRun("SetStatus")
		return
	}
	rec := store.Record{Kind: store.KindStatus, Key: string(s)}
	if len(message) > 0 {
		rec.Value = message[0]
	}
	r.record(rec)
}

// SetProgress sets the progress, 0–100.
func (r *Run) SetProgress(percent float64) {
	if r == nil {
		nilRun("SetProgress")
		return
	}
	r.record(store.Record{Kind: store.KindProgress, Value: percent})
}

// SetStep sets the run's current step.
func (r *Run) SetStep(step int64) {
	if r == nil {
		nilRun("SetStep")
		return
	}
	r.record(store.Record{Kind: store.KindStep, Step: step})
}

// queued returns the records and points waiting in memory.
func (r *Run) queued() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.q.n()
}

// lastSeq returns the seq of the last record enqueued.
func (r *Run) lastSeq() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// Flush waits until every record logged before it (and every artifact) is
// stored by the server, or ctx ends, and returns the first error of any
// record not yet reported. If ctx ends while the server is unreachable,
// the error wraps ErrSpooled (the records are on disk and will be sent).
func (r *Run) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	target := r.lastSeq()
	r.nudge()
	err := r.waitAcked(ctx, target)
	if uerr := r.up.wait(ctx); err == nil && uerr != nil {
		err = uerr
	}
	return r.firstError(err)
}

func (r *Run) waitAcked(ctx context.Context, target int64) error {
	stop := context.AfterFunc(ctx, func() {
		r.dmu.Lock()
		r.cond.Broadcast()
		r.dmu.Unlock()
	})
	defer stop()
	r.dmu.Lock()
	defer r.dmu.Unlock()
	for r.acked < target {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.cond.Wait()
	}
	return nil
}

// firstError returns the first unreported record error, else a summary of
// drops, else waitErr translated.
func (r *Run) firstError(waitErr error) error {
	r.dmu.Lock()
	var err error
	if r.reported < len(r.errs) {
		err = r.errs[r.reported]
		r.reported = len(r.errs)
	}
	spooled := r.spooled > r.acked
	r.dmu.Unlock()
	if err != nil {
		return err
	}
	r.mu.Lock()
	dropped := r.dropped
	r.dropped = 0
	r.mu.Unlock()
	if dropped > 0 {
		return fmt.Errorf("%w: %d records of run %s", ErrDropped, dropped, r.id)
	}
	if waitErr != nil {
		if spooled || r.snd.down() {
			return fmt.Errorf("%w (%s): %w", ErrSpooled, r.dir, waitErr)
		}
		return waitErr
	}
	return nil
}

// End records the final status (with the call counts and end statistics),
// waits until the server has everything or ctx ends — then what is left
// stays in the spool for the next Start or `trackd replay` — and closes the
// run. It returns the first error of any record not yet reported.
func (r *Run) End(ctx context.Context, status Status, message ...string) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return ErrEnded
	}
	r.mu.Unlock()
	r.stopSysMetrics()
	r.stopProfile()
	if r.srcDone != nil {
		// The snapshot may use half of what is left of ctx; the final
		// status and the records before it must still reach the server.
		wait, cancel := ctx, context.CancelFunc(func() {})
		if dl, ok := ctx.Deadline(); ok {
			wait, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
		}
		select {
		case <-r.srcDone:
		case <-wait.Done():
			r.srcCancel() // the snapshot gives up; its records are dropped
			<-r.srcDone
		}
		cancel()
	}
	r.up.waitRecorded(ctx)
	for name, c := range r.counts.snapshot() {
		r.record(store.Record{Kind: store.KindCount, Key: name, Value: c})
	}
	if !r.opts.NoMetadata {
		r.AddMetadataMap(endStats(r.t0))
	}
	r.SetStatus(status, message...)
	r.mu.Lock()
	r.ended = true
	target := r.seq
	r.mu.Unlock()
	r.ex.close()
	r.nudge()
	err := r.waitAcked(ctx, target)
	if uerr := r.up.wait(ctx); err == nil && uerr != nil {
		err = uerr
	}
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	r.fwd.Shutdown(lctx)
	cancel()
	r.cancel()
	r.wg.Wait()
	r.snd.close()
	return r.firstError(err)
}

// Stats are a run's delivery counters.
type Stats struct {
	Sent     int64 // batches acknowledged
	Spooled  int64 // batches written to the spool
	Replayed int64 // batches replayed from the spool
	Errors   int   // record errors so far
	Logged   int64 // records and points logged (the last sequence number)
	Acked    int64 // records the server has acknowledged (or that are lost, with an error)
}

// Stats returns the run's counters.
func (r *Run) Stats() Stats {
	r.dmu.Lock()
	n, acked := len(r.errs), r.acked
	r.dmu.Unlock()
	return Stats{Sent: r.stats.sent.Load(), Spooled: r.stats.spooledN.Load(), Replayed: r.stats.replayed.Load(), Errors: n, Logged: r.lastSeq(), Acked: acked}
}
