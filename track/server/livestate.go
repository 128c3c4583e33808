package server

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
)

// The live-state schema: the trees of the notifiers the server publishes,
// as Go types. Their keys are the explicit pyon tags below and nothing
// else: every value is turned into a tree by pyon (liveValue), so the keys
// do not depend on a struct-key rule. docs/protocol.md ("Live state")
// documents them; TestLiveStateFixture writes a sample of each into
// track/dashboard/testdata/livestate.json, which the dashboard's node
// tests read (livestate.test.js), so a renamed or removed key fails on
// both sides.

// RunsNotifier is the name of the notifier listing runs: run id →
// RunEntry. It holds at most Options.RunsOpenInLive open runs and
// Options.RunsInLive finished ones, the newest of each (by id, the order
// of list_runs); ServerState.Runs counts them all. The others are read
// with list_runs.
const RunsNotifier = "runs"

// ServerNotifier is the name of the notifier holding ServerState.
const ServerNotifier = "server"

// RunNotifier returns the name of a run's own notifier, whose tree is a
// RunState. It is published while the run is open and listed in "runs",
// and for Options.RunLinger after the run ended or was last watched.
func RunNotifier(id string) string { return "run/" + id }

// RunEntry is one run in the "runs" notifier; its fields are also the top
// of the run's own tree (RunState).
type RunEntry struct {
	Project string `pyon:"project"`
	Name    string `pyon:"name"`
	// Status is the run's store.Status, or "crashed" while its heartbeats
	// have stopped (not final: it comes back when the run is heard from).
	Status string `pyon:"status"`
	// Message is the status message, cut to ReadBounds.LiveText bytes.
	Message  string  `pyon:"message"`
	Progress float64 `pyon:"progress"`
	Step     int64   `pyon:"step"`
	// Start, Updated and End are Unix seconds; null when not known (End:
	// until the status is final).
	Start   *float64 `pyon:"start"`
	Updated *float64 `pyon:"updated"`
	End     *float64 `pyon:"end"`
	// Tags: at most ReadBounds.LiveTags.
	Tags []string `pyon:"tags"`
	// Latest: result key → its last value ("…" for one over 256 bytes);
	// at most ReadBounds.LiveLatest keys, in key order.
	Latest map[string]any `pyon:"latest"`
}

// RunState is the tree of a run's own notifier ("run/ID").
type RunState struct {
	ID string `pyon:"id"`
	RunEntry
	RunDetail
	// Series: result key → its last Options.RecentPoints points.
	Series map[string]RecentPoints `pyon:"series"`
	// Logs: the last Options.LogTail log records, oldest first.
	Logs []LogLine `pyon:"logs"`
	// Exposed: object name → what it offers (rpc's list_methods answer).
	Exposed map[string]*rpc.TargetInfo `pyon:"exposed"`
}

// RunDetail is the part of RunState read from the store, within
// ReadBounds.Live: a value over the bounds is a marker
// {"__truncated__": true, "type", "size", "len"} (store.IsTruncated).
// Each field is sent again only when it changed.
type RunDetail struct {
	Params    map[string]any `pyon:"params"`
	Metadata  map[string]any `pyon:"metadata"`
	Counts    map[string]any `pyon:"counts"`
	Notes     []LiveNote     `pyon:"notes"`
	Artifacts []LiveArtifact `pyon:"artifacts"`
	// Omitted: field → entries the bounds left out.
	Omitted map[string]int64 `pyon:"omitted"`
}

// LiveNote is a note of RunDetail.
type LiveNote struct {
	Time *float64 `pyon:"time"`
	Text string   `pyon:"text"`
	// Truncated: the text was cut (ReadBounds.Live.MaxValue).
	Truncated bool `pyon:"truncated"`
}

// LiveArtifact is an artifact of RunDetail.
type LiveArtifact struct {
	Name        string `pyon:"name"`
	Sha256      string `pyon:"sha256"`
	Size        int64  `pyon:"size"`
	ContentType string `pyon:"content_type"`
	Result      bool   `pyon:"result"`
	// Present: the server holds the content (false while it uploads).
	Present bool `pyon:"present"`
}

// RecentPoints are the recent points of one series: Time[i] is point i's
// time (Unix seconds, the time the client logged it), so that a chart
// over wall time places a live point where the stored series will.
type RecentPoints struct {
	Step  []int64   `pyon:"step"`
	Time  []float64 `pyon:"time"`
	Value []any     `pyon:"value"`
}

// LogLine is a log record of RunState.Logs.
type LogLine struct {
	Time    *float64 `pyon:"time"`
	Level   int64    `pyon:"level"` // slog's levels: -4 debug, 0 info, 4 warn, 8 error
	Logger  string   `pyon:"logger"`
	Message string   `pyon:"message"` // cut to ReadBounds.LiveText bytes
	// Attrs are the record's attributes, as the logs query returns them,
	// within ReadBounds.LiveText bytes (liveAttrs); nil without any.
	Attrs map[string]any `pyon:"attrs"`
}

// liveAttrs bounds a log record's attributes for live state: all of them
// when they fit in budget bytes, else those that fit, in key order, and
// "…" saying how many were left out (the logs query has them all).
func liveAttrs(attrs map[string]any, budget int) map[string]any {
	if len(attrs) == 0 {
		return nil
	}
	if pyon.SizeOf(attrs) <= int64(budget) {
		return attrs
	}
	out := map[string]any{}
	used, left := int64(0), 0
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		n := int64(len(k)) + pyon.SizeOf(attrs[k])
		if used+n > int64(budget) {
			left++
			continue
		}
		out[k] = attrs[k]
		used += n
	}
	out["…"] = fmt.Sprintf("%d more", left)
	return out
}

// ServerState is the tree of the "server" notifier: what the dashboard
// shows about the server itself.
type ServerState struct {
	Runs    RunCounts    `pyon:"runs"`
	Storage StorageState `pyon:"storage"`
}

// RunCounts counts the runs the server follows, exactly, however few of
// them "runs" lists.
type RunCounts struct {
	// Open counts the runs whose status is not final (crashed ones
	// included); ByStatus splits them by RunEntry.Status.
	Open     int64            `pyon:"open"`
	ByStatus map[string]int64 `pyon:"by_status"`
	// Listed counts the entries of "runs" (open and finished).
	Listed int64 `pyon:"listed"`
	// MaxOpen and MaxFinished are the bounds of "runs"
	// (Options.RunsOpenInLive, Options.RunsInLive).
	MaxOpen     int64 `pyon:"max_open"`
	MaxFinished int64 `pyon:"max_finished"`
}

// The storage states of StorageState.State.
const (
	StorageOK          = "ok"          // writes go in
	StorageLow         = "low"         // free space below Options.MinFree: new runs and uploads are refused
	StorageUnavailable = "unavailable" // the store failed writes as unavailable within StorageErrorWindow
)

// StorageErrorWindow is how long an unavailable error of the store keeps
// StorageState.State "unavailable".
const StorageErrorWindow = time.Minute

// StorageState is the server's storage, as clients see it: whether their
// writes go in, and why not.
type StorageState struct {
	// State: StorageOK, StorageLow or StorageUnavailable (the worst
	// holding).
	State string `pyon:"state"`
	// FreeBytes is the last free-space reading (Options.FreeSpace); null
	// when free space is not watched or could not be read.
	FreeBytes *int64 `pyon:"free_bytes"`
	// MinFree is the watermark (Options.MinFree); 0: none.
	MinFree int64 `pyon:"min_free"`
	// Errors counts the writes the store failed as unavailable within
	// StorageErrorWindow; LastError and LastErrorTime (Unix seconds,
	// null: never) are the last one.
	Errors        int64    `pyon:"errors"`
	LastError     string   `pyon:"last_error"`
	LastErrorTime *float64 `pyon:"last_error_time"`
}

// liveValue turns a value of the schema into the tree a notifier holds:
// pyon's value model, keyed by the pyon tags, nil lists and dicts empty —
// what a round trip through the PYON text gives (it was that round trip,
// a tenth of a busy server's CPU with 1,000 viewers), as subscribers read it.
func liveValue(v any) (any, error) {
	t, err := pyon.NormalizeWith(v, pyon.NormalizeOptions{NilAsEmpty: true})
	if err != nil {
		return nil, fmt.Errorf("track: live state: %w", err)
	}
	return t, nil
}

// liveMap is liveValue for a struct: its tree is a dict.
func liveMap(v any) (map[string]any, error) {
	t, err := liveValue(v)
	if err != nil {
		return nil, err
	}
	m, ok := t.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("track: live state: %T is not a dict", v)
	}
	return m, nil
}

func unixSec(t store.Time) *float64 {
	if t == 0 {
		return nil
	}
	f := float64(t)
	return &f
}

// smallValue returns v if it is small enough for a listing, else a
// placeholder naming its kind.
func smallValue(v any) any {
	if _, ok := store.ScalarOf(v); ok {
		return v
	}
	if b, err := store.EncodeValue(v); err == nil && len(b) <= 256 {
		return v
	}
	return "…"
}

// entryOf is the live entry of a run read from the store; status is what
// it shows ("crashed" when the store says so).
func (l *Live) entryOf(r *store.Run) *RunEntry {
	e := &RunEntry{
		Project: r.Project, Name: r.Name, Status: string(r.Status),
		Message:  store.TruncateText(r.Message, l.s.opts.Bounds.LiveText),
		Progress: r.Progress, Step: r.Step,
		Start: unixSec(r.Start), Updated: unixSec(r.Updated), End: unixSec(r.End),
		Tags: l.tagList(r.Tags), Latest: map[string]any{},
	}
	keys := make([]string, 0, len(r.Latest))
	for k := range r.Latest {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys[:min(len(keys), l.s.opts.Bounds.LiveLatest)] {
		e.Latest[k] = smallValue(r.Latest[k].Value)
	}
	return e
}

// tagList is the tags as live state lists them: at most LiveTags.
func (l *Live) tagList(tags []string) []string {
	return slices.Clone(tags[:min(len(tags), l.s.opts.Bounds.LiveTags)])
}

// detailOf is what a run's own notifier shows of a (bounded) read.
func detailOf(r *store.Run) RunDetail {
	d := RunDetail{Params: r.Params, Metadata: r.Metadata, Counts: r.Counts, Omitted: r.Omitted}
	for _, a := range r.Artifacts {
		d.Artifacts = append(d.Artifacts, LiveArtifact{Name: a.Name, Sha256: a.Sha256, Size: a.Size, ContentType: a.ContentType, Result: a.Result, Present: a.Present})
	}
	for _, nt := range r.Notes {
		d.Notes = append(d.Notes, LiveNote{Time: unixSec(nt.Time), Text: nt.Text, Truncated: nt.Truncated})
	}
	return d
}

// newest keeps the n greatest ids offered (the newest: list_runs' order).
type newest struct {
	n   int
	ids []string // ascending
}

func (t *newest) offer(id string) {
	if t.n <= 0 {
		return
	}
	if len(t.ids) == t.n {
		if id <= t.ids[0] {
			return
		}
		t.ids = t.ids[1:]
	}
	i, _ := slices.BinarySearch(t.ids, id)
	t.ids = slices.Insert(t.ids, i, id)
}
