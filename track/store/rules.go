package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The record rules, applied to a backend's RunTx (backend.go). They were
// the Kind switch of store/sqlite/ingest.go; that file now only stores.

// MaxRejected bounds the rejections one Ack lists; further ones are counted
// in the message of the last.
const MaxRejected = 100

// ErrSeqGap: a batch whose records are numbered further beyond the run's
// highest stored number than a batch can hold (see SeqGapError).
var ErrSeqGap = errors.New("store: record numbers far beyond the run's")

// SeqGapError reports a batch refused for its sequence numbers. A client
// numbers its records 1, 2, 3, …; records missing before a batch (a spool
// cut short) are tolerated up to Limits.MaxBatchRecords (Ack.Gap), but not
// more: one record at seq 10^15 would otherwise make every later record of
// the run's own client look like a replay, silently skipped.
type SeqGapError struct {
	Run     string
	HighSeq int64 // the run's highest stored record number
	Seq     int64 // the offending number
	Max     int64 // the most records a batch may skip or span
}

func (e *SeqGapError) Error() string {
	return fmt.Sprintf("store: run %q: record %d is more than %d past the run's last record %d; refusing the batch (a client numbers its records from 1, or from ResumeRun's number when it continues a run)",
		e.Run, e.Seq, e.Max, e.HighSeq)
}

// Unwrap makes errors.Is(err, ErrSeqGap) hold.
func (e *SeqGapError) Unwrap() error { return ErrSeqGap }

// CheckBatch checks what makes a whole batch unusable, before a backend
// opens a transaction: its run id (CheckRunID), the shape of its point
// columns and its size.
func CheckBatch(lim Limits, b *Batch) error {
	if err := CheckRunID(b.Run); err != nil {
		return err // no such id enters the store: ids may name directories (jobs)
	}
	p := &b.Points
	n := p.Len()
	if len(p.Key) != n || len(p.Step) != n || len(p.Time) != n || len(p.Value) != n {
		return fmt.Errorf("%w: point columns of different lengths (seq %d, key %d, step %d, time %d, value %d)",
			ErrBadRecord, n, len(p.Key), len(p.Step), len(p.Time), len(p.Value))
	}
	if total := n + len(b.Records); total > lim.MaxBatchRecords {
		return &LimitError{Limit: "MaxBatchRecords", Item: "batch", Size: int64(total), Max: int64(lim.MaxBatchRecords)}
	}
	for i, k := range p.Key {
		if k < 0 || k >= int64(len(p.Keys)) {
			return fmt.Errorf("%w: point %d names key %d of %d", ErrBadRecord, i, k, len(p.Keys))
		}
	}
	return nil
}

// applier applies records to one run within one transaction.
type applier struct {
	tx     RunTx
	lim    Limits
	run    string
	exists bool
	made   bool // this batch created the run (a parent record may follow)
	row    RunState
	ack    *Ack
	nrej   int
}

func (a *applier) reject(seq int64, err error) {
	a.nrej++
	if len(a.ack.Rejected) < MaxRejected {
		a.ack.Rejected = append(a.ack.Rejected, Rejected{Seq: seq, Error: err.Error()})
	}
}

func (a *applier) load(ctx context.Context) error {
	var err error
	a.row, a.exists, err = a.tx.LoadRun(ctx)
	return err
}

// ApplyBatch applies a batch (checked by CheckBatch) to tx, the run
// b.Run's transaction: exactly once by (run, seq), each record by its
// kind's rule. It returns the Ack the backend returns after its commit
// (HighSeq included), or an error for a batch that cannot be applied at all
// (unknown or deleted run, a sequence gap) or a storage failure (the
// backend's error as it returned it); the backend then rolls back.
func ApplyBatch(ctx context.Context, tx RunTx, lim Limits, b *Batch) (*Ack, error) {
	a := &applier{tx: tx, lim: lim, run: b.Run, ack: &Ack{Run: b.Run}}
	if err := a.load(ctx); err != nil {
		return nil, err
	}
	if !a.exists {
		if deleted, err := tx.Deleted(ctx); err != nil {
			return nil, err
		} else if deleted {
			return nil, deletedRun(b.Run)
		}
		if len(b.Records) == 0 || b.Records[0].Kind != KindStart {
			return nil, fmt.Errorf("%w %q: its first batch must start with the run's start record", ErrUnknownRun, b.Run)
		}
	}
	high := a.row.HighSeq
	if err := checkSeqs(lim, b, high); err != nil {
		return nil, err
	}
	minSeq := int64(-1)
	maxSeq := high
	note := func(seq int64) bool { // true: the record is new
		if seq <= high {
			a.ack.Skipped++
			return false
		}
		if minSeq < 0 || seq < minSeq {
			minSeq = seq
		}
		maxSeq = max(maxSeq, seq)
		return true
	}
	for i := range b.Records {
		r := &b.Records[i]
		if !note(r.Seq) {
			continue
		}
		if err := CheckClientRecord(r); err != nil {
			a.reject(r.Seq, err) // the server writes these with Edit
			continue
		}
		if err := a.record(ctx, r); err != nil {
			if isStorage(err) {
				return nil, unwrapStorage(err)
			}
			a.reject(r.Seq, err)
			continue
		}
		a.ack.Applied++
	}
	if err := a.points(ctx, &b.Points, note); err != nil {
		return nil, unwrapStorage(err)
	}
	if minSeq > high+1 {
		a.ack.Gap = minSeq - high - 1 // the backend logs it
	}
	if a.nrej > len(a.ack.Rejected) && len(a.ack.Rejected) > 0 {
		last := &a.ack.Rejected[len(a.ack.Rejected)-1]
		last.Error += fmt.Sprintf(" (and %d more records rejected)", a.nrej-len(a.ack.Rejected))
	}
	a.ack.Prev = high
	a.row.HighSeq = maxSeq
	if a.ack.Applied > 0 {
		a.row.Update = time.Now().UnixNano()
	}
	if a.exists {
		if err := tx.SaveRun(ctx, &a.row); err != nil {
			return nil, err
		}
	}
	a.ack.HighSeq = maxSeq
	return a.ack, nil
}

// checkSeqs refuses a batch whose new records lie further past high than a
// batch can reach: a gap before them, or a spread among them, larger than
// MaxBatchRecords (SeqGapError). It costs one pass over the numbers.
func checkSeqs(lim Limits, b *Batch, high int64) error {
	span := int64(lim.MaxBatchRecords)
	lo, hi := int64(-1), int64(-1)
	see := func(seq int64) {
		if seq <= high {
			return
		}
		if lo < 0 || seq < lo {
			lo = seq
		}
		hi = max(hi, seq)
	}
	for i := range b.Records {
		see(b.Records[i].Seq)
	}
	for _, seq := range b.Points.Seq {
		see(seq)
	}
	if lo < 0 {
		return nil
	}
	if lo-high-1 > span || hi-lo >= span {
		bad := lo
		if lo-high-1 <= span {
			bad = hi
		}
		return &SeqGapError{Run: b.Run, HighSeq: high, Seq: bad, Max: span}
	}
	return nil
}

// record applies one record of a batch by its kind.
func (a *applier) record(ctx context.Context, r *Record) error {
	if !a.exists && r.Kind != KindStart {
		return fmt.Errorf("%w %q", ErrUnknownRun, a.run)
	}
	switch r.Kind {
	case KindStart:
		return a.start(ctx, r)
	case KindParent:
		return a.parent(ctx, r)
	case KindParam:
		return a.param(ctx, r)
	case KindMeta:
		return a.keyedValue(ctx, r, "metadata key", "metadata ", a.tx.PutMeta)
	case KindResult:
		if err := a.valueResult(ctx, r); err != nil {
			return err
		}
		a.active(r.Step)
		return nil
	case KindNote:
		return a.note(ctx, r)
	case KindTag:
		return a.tag(ctx, r)
	case KindUntag:
		return storage(a.tx.RemoveTag(ctx, r.Key))
	case KindStatus:
		return a.status(r)
	case KindProgress:
		p, ok := ScalarOf(r.Value)
		if !ok || p < 0 || p > 100 || p != p {
			return fmt.Errorf("%w: progress %v is not a number in 0–100", ErrBadRecord, r.Value)
		}
		a.row.Progress = p
		a.active(-1)
		return nil
	case KindStep:
		if err := CheckStep(r.Step); err != nil {
			return err
		}
		a.row.Step = r.Step
		a.active(-1)
		return nil
	case KindArtifact:
		return a.artifact(ctx, r)
	case KindCount:
		return a.keyedValue(ctx, r, "count name", "count ", a.tx.PutCount)
	}
	return fmt.Errorf("%w: unknown record kind %q", ErrBadRecord, r.Kind)
}

// start creates the run (r.Key, named by r.Value); a run that exists is
// a restarted client announcing itself again.
func (a *applier) start(ctx context.Context, r *Record) error {
	if a.exists {
		return nil
	}
	name, _ := r.Value.(string)
	if err := checkRunNames(a.lim, r.Key, name); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	if err := a.tx.InsertRun(ctx, r.Key, name, r.Time, now); err != nil {
		return storage(err)
	}
	a.exists, a.made, a.row = true, true, RunState{Status: StatusRegistered, Update: now}
	return nil
}

// keyedValue stores a metadata entry or a count by put: what (the key's
// name in errors), prefix (the value's).
func (a *applier) keyedValue(ctx context.Context, r *Record, what, prefix string, put func(ctx context.Context, key string, v []byte) error) error {
	if err := a.lim.CheckKey(what, r.Key); err != nil {
		return err
	}
	v, err := a.value(prefix+r.Key, r.Value, false)
	if err != nil {
		return err
	}
	return storage(put(ctx, r.Key, v))
}

// note adds a note (text, at most MaxValueSize).
func (a *applier) note(ctx context.Context, r *Record) error {
	text, ok := r.Value.(string)
	if !ok {
		return fmt.Errorf("%w: a note must be text, not %T", ErrBadRecord, r.Value)
	}
	if err := CheckText("note", text, "MaxValueSize", a.lim.MaxValueSize); err != nil {
		return err
	}
	return storage(a.tx.AddNote(ctx, r.Time, text))
}

// tag adds a tag (at most MaxTagsPerRun on the run).
func (a *applier) tag(ctx context.Context, r *Record) error {
	if err := a.lim.CheckKey("tag", r.Key); err != nil {
		return err
	}
	n, err := a.tx.CountTags(ctx, r.Key)
	if err != nil {
		return storage(err)
	}
	if n >= a.lim.MaxTagsPerRun {
		return &LimitError{Limit: "MaxTagsPerRun", Item: "tags of the run", Size: int64(n + 1), Max: int64(a.lim.MaxTagsPerRun)}
	}
	return storage(a.tx.AddTag(ctx, r.Key))
}

// status applies a status record by the state machine (status.go).
func (a *applier) status(r *Record) error {
	if r.Key == string(StatusCrashed) { // set by the server only (Edit)
		a.row.Crashed = true
		return nil
	}
	st := Status(r.Key)
	if !st.Valid() {
		return fmt.Errorf("%w: unknown status %q", ErrBadRecord, r.Key)
	}
	if st == StatusRegistered && a.row.Status != StatusRegistered && !a.row.Status.Final() {
		// Start's announcement reaching a run that is already further
		// (it logged before, or its launcher's job output made it
		// running): nothing to change, like a second start record.
		a.row.Crashed = false
		return nil
	}
	if err := CheckTransition(a.row.Status, st); err != nil {
		return err
	}
	a.row.Crashed = false // heard from: not crashed
	if st.Final() && a.row.Status == st {
		return nil // ended again: the first end stands
	}
	a.row.Status = st
	// A status is never refused for its message: an oversized or malformed
	// one is cut (at a rune) and mended.
	msg, _ := r.Value.(string)
	a.row.Message = CleanText(TruncateText(msg, a.lim.MaxValueSize))
	if st.Final() {
		a.row.End = r.Time
	}
	if st == StatusFinished {
		a.row.Progress = 100 // finished is done, whatever was reported last
	}
	return nil
}

// active applies the implicit part of a run's data records (results,
// step, progress): a run still registered is running once it reports
// something, and a result's step raises the run's step (the largest step
// seen; step < 0: none). Only registered moves, so a SimService client
// walking loaded → initialized → started is not overtaken.
func (a *applier) active(step int64) {
	if a.row.Status == StatusRegistered {
		a.row.Status = StatusRunning
	}
	a.row.Step = max(a.row.Step, step)
}

func checkRunNames(lim Limits, project, name string) error {
	if err := lim.CheckKey("project", project); err != nil {
		return err
	}
	return CheckText("run name", name, "MaxKeyLen", lim.MaxKeyLen)
}

// value encodes a value and checks it against the limits: its size, its
// depth, its strings (UTF-8) and, if finite, its numbers.
func (a *applier) value(what string, v any, finite bool) ([]byte, error) {
	b, err := EncodeValue(v)
	if err != nil {
		return nil, err
	}
	if err := a.lim.CheckValue(what, b); err != nil {
		return nil, err
	}
	return b, a.lim.CheckValueContent(what, v, finite)
}

// param applies the write-once rule: the same value again changes nothing,
// another value is a *ConflictError.
func (a *applier) param(ctx context.Context, r *Record) error {
	if err := a.lim.CheckKey("param key", r.Key); err != nil {
		return err
	}
	v, err := a.value("param "+r.Key, r.Value, true)
	if err != nil {
		return err
	}
	old, ok, err := a.tx.Param(ctx, r.Key)
	if err != nil {
		return storage(err)
	}
	if ok {
		if string(old) == string(v) {
			return nil
		}
		ov, _ := DecodeValue(old)
		return &ConflictError{Key: r.Key, Old: ValueText(ov), New: ValueText(r.Value)}
	}
	n, err := a.tx.CountParams(ctx)
	if err != nil {
		return storage(err)
	}
	if n >= a.lim.MaxKeysPerRun {
		return &LimitError{Limit: "MaxKeysPerRun", Item: "params of the run", Size: int64(n + 1), Max: int64(a.lim.MaxKeysPerRun)}
	}
	var num any
	if f, ok := ScalarOf(r.Value); ok {
		num = f
	} else if bv, ok := r.Value.(bool); ok {
		num = 0.0
		if bv {
			num = 1.0
		}
	}
	return storage(a.tx.InsertParam(ctx, r.Key, v, num))
}

func (a *applier) artifact(ctx context.Context, r *Record) error {
	if err := a.lim.CheckKey("artifact name", r.Key); err != nil {
		return err
	}
	m, ok := r.Value.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: artifact %q without its description", ErrBadRecord, r.Key)
	}
	sha, _ := m["sha256"].(string)
	if !ValidSHA256(sha) {
		return fmt.Errorf("%w: artifact %q: %q is not a sha256 in hex", ErrBadRecord, r.Key, sha)
	}
	size, _ := ScalarOf(m["size"])
	ct, _ := m["content_type"].(string)
	if err := CheckText(fmt.Sprintf("content type of artifact %q", r.Key), ct, "MaxKeyLen", a.lim.MaxKeyLen); err != nil {
		return err
	}
	res, _ := m["result"].(bool)
	return storage(a.tx.PutArtifact(ctx, &ArtifactRow{Name: r.Key, SHA256: sha, Size: int64(size), ContentType: ct, Result: res, Time: r.Time}))
}

// ValidSHA256 reports whether s is a sha256 in lower-case hex, as blobs
// are named.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// series describes a series, refusing a new one beyond MaxKeysPerRun.
func (a *applier) series(ctx context.Context, key string) (SeriesState, error) {
	st, err := a.tx.Series(ctx, key)
	if err != nil {
		return st, storage(err)
	}
	if st.Exists {
		return st, nil
	}
	count, err := a.tx.CountSeries(ctx)
	if err != nil {
		return st, storage(err)
	}
	if count >= a.lim.MaxKeysPerRun {
		return st, &LimitError{Limit: "MaxKeysPerRun", Item: "series of the run", Size: int64(count + 1), Max: int64(a.lim.MaxKeysPerRun)}
	}
	return st, nil
}

// points stores the scalar points of a batch, grouped by key.
func (a *applier) points(ctx context.Context, p *Points, note func(int64) bool) error {
	if p.Len() == 0 {
		return nil
	}
	if !a.exists {
		return fmt.Errorf("%w %q", ErrUnknownRun, a.run)
	}
	byKey := make([][]int32, len(p.Keys))
	for i := range p.Seq {
		if !note(p.Seq[i]) {
			continue
		}
		if err := CheckStep(p.Step[i]); err != nil {
			a.reject(p.Seq[i], err)
			continue
		}
		k := p.Key[i]
		byKey[k] = append(byKey[k], int32(i))
	}
	for k, idx := range byKey {
		if len(idx) == 0 {
			continue
		}
		key := p.Keys[k]
		if err := a.lim.CheckKey("result key", key); err != nil {
			a.reject(p.Seq[idx[0]], fmt.Errorf("%w (%d points)", err, len(idx)))
			continue
		}
		st, err := a.series(ctx, key)
		if err != nil {
			if isStorage(err) {
				return err
			}
			a.reject(p.Seq[idx[0]], fmt.Errorf("%w (%d points)", err, len(idx)))
			continue
		}
		if st.Exists && !st.Scalar {
			a.reject(p.Seq[idx[0]], fmt.Errorf("%w: series %q holds non-scalar values; %d scalar points refused", ErrBadRecord, key, len(idx)))
			continue
		}
		if room := a.lim.MaxSeriesLen - st.N; int64(len(idx)) > room {
			over := idx[max(room, 0):]
			a.reject(p.Seq[over[0]], &LimitError{Limit: "MaxSeriesLen", Item: fmt.Sprintf("series %q (%d points refused)", key, len(over)), Size: st.N + int64(len(idx)), Max: a.lim.MaxSeriesLen})
			idx = idx[:max(room, 0)]
			if len(idx) == 0 {
				continue
			}
		}
		c := &Chunk{Seq: make([]int64, len(idx)), Step: make([]int64, len(idx)), Time: make([]int64, len(idx)), Value: make([]float64, len(idx))}
		for j, i := range idx {
			c.Seq[j], c.Step[j], c.Time[j], c.Value[j] = p.Seq[i], p.Step[i], p.Time[i], p.Value[i]
		}
		last := idx[len(idx)-1]
		top := slices.Max(c.Step) // before AppendSeries, which may take c's columns
		latest, _ := EncodeValue(p.Value[last])
		if err := a.tx.AppendSeries(ctx, key, st, c, p.Step[last], p.Time[last], latest); err != nil {
			return storage(err)
		}
		a.ack.Applied += len(idx)
		a.active(top)
	}
	return nil
}

// valueResult stores one non-scalar result (or a scalar sent as a record).
func (a *applier) valueResult(ctx context.Context, r *Record) error {
	if err := a.lim.CheckKey("result key", r.Key); err != nil {
		return err
	}
	if err := CheckStep(r.Step); err != nil {
		return err
	}
	st, err := a.series(ctx, r.Key)
	if err != nil {
		return err
	}
	if st.N >= a.lim.MaxSeriesLen {
		return &LimitError{Limit: "MaxSeriesLen", Item: fmt.Sprintf("series %q", r.Key), Size: st.N + 1, Max: a.lim.MaxSeriesLen}
	}
	if f, ok := ScalarOf(r.Value); ok && (!st.Exists || st.Scalar) {
		c := &Chunk{Seq: []int64{r.Seq}, Step: []int64{r.Step}, Time: []int64{r.Time}, Value: []float64{f}}
		latest, _ := EncodeValue(f)
		return storage(a.tx.AppendSeries(ctx, r.Key, st, c, r.Step, r.Time, latest))
	}
	if st.Exists && st.Scalar {
		return fmt.Errorf("%w: series %q holds scalars; refusing a %T", ErrBadRecord, r.Key, r.Value)
	}
	v, err := a.value("result "+r.Key, r.Value, false)
	if err != nil {
		return err
	}
	c := &Chunk{Seq: []int64{r.Seq}, Step: []int64{r.Step}, Time: []int64{r.Time}, Values: [][]byte{v}}
	return storage(a.tx.AppendSeries(ctx, r.Key, st, c, r.Step, r.Time, v))
}

// Status keys of Edit's status records that are not statuses: the server
// telling the store a run was heard from again (alive), or that it logged
// (active: a registered run becomes running, as with its first result).
const (
	editAlive  = "alive"
	editActive = "active"
)

// ApplyEdit applies unsequenced records (notes, tags, metadata from a
// reader or the server; the server's crashed and "alive" status records)
// to the run of tx. Any error aborts the edit.
func ApplyEdit(ctx context.Context, tx RunTx, lim Limits, run string, recs []Record) error {
	a := &applier{tx: tx, lim: lim, run: run, ack: &Ack{Run: run}}
	if err := a.load(ctx); err != nil {
		return err
	}
	if !a.exists {
		return fmt.Errorf("%w %q", ErrUnknownRun, run)
	}
	for i := range recs {
		r := &recs[i]
		switch r.Kind {
		case KindNote, KindTag, KindUntag, KindStatus, KindMeta:
		default:
			return fmt.Errorf("%w: %q records cannot be edited", ErrBadRecord, r.Kind)
		}
		if r.Kind == KindStatus && r.Key != string(StatusCrashed) && r.Key != editAlive && r.Key != editActive {
			return fmt.Errorf("%w: only the run itself sets its status", ErrBadRecord)
		}
		if r.Kind == KindStatus && (r.Key == editAlive || r.Key == editActive) {
			a.row.Crashed = false
			if r.Key == editActive {
				a.active(-1)
			}
			continue
		}
		if r.Time == 0 {
			r.Time = time.Now().UnixNano()
		}
		if err := a.record(ctx, r); err != nil {
			return unwrapStorage(err)
		}
	}
	a.row.Update = time.Now().UnixNano()
	return tx.SaveRun(ctx, &a.row)
}

// ApplyCreate creates a run before its client starts (Store.CreateRun): a
// run that exists is left as it is; a deleted id is refused
// (ErrDeletedRun).
func ApplyCreate(ctx context.Context, tx RunTx, lim Limits, id, project, name string) error {
	if err := CheckRunID(id); err != nil {
		return err
	}
	if err := checkRunNames(lim, project, name); err != nil {
		return err
	}
	_, ok, err := tx.LoadRun(ctx)
	if err != nil || ok {
		return err
	}
	if deleted, err := tx.Deleted(ctx); err != nil {
		return err
	} else if deleted {
		return deletedRun(id)
	}
	now := time.Now().UnixNano()
	return tx.InsertRun(ctx, project, name, now, now)
}

// ErrResumeFinal: ResumeRun on a run whose status is final.
var ErrResumeFinal = errors.New("store: a run with a final status cannot be resumed")

// ApplyResume lets another process continue the run of tx
// (Store.ResumeRun): it returns the run's highest stored record number,
// after which the process numbers its records, and starts the status
// lifecycle again at registered (the crashed flag lifted). A run whose
// status is final is not resumed (ErrResumeFinal), an unknown one is
// ErrUnknownRun, a deleted one ErrDeletedRun.
func ApplyResume(ctx context.Context, tx RunTx, run string) (int64, error) {
	st, ok, err := tx.LoadRun(ctx)
	if err != nil {
		return 0, err
	}
	if !ok {
		if deleted, err := tx.Deleted(ctx); err != nil {
			return 0, err
		} else if deleted {
			return 0, deletedRun(run)
		}
		return 0, fmt.Errorf("%w %q", ErrUnknownRun, run)
	}
	if st.Status.Final() {
		return 0, fmt.Errorf("%w: run %q is %s", ErrResumeFinal, run, st.Status)
	}
	st.Status, st.Crashed, st.Message = StatusRegistered, false, ""
	st.Update = time.Now().UnixNano()
	if err := tx.SaveRun(ctx, &st); err != nil {
		return 0, err
	}
	return st.HighSeq, nil
}
