package store

// Status is a run's state. A client moves its run through SimService's
// lifecycle; the server sets StatusCrashed when the client's heartbeats stop.
type Status string

// The statuses. Finished, stopped and failed are final; crashed is set by
// the server and lifted if the client comes back.
const (
	StatusRegistered  Status = "registered"
	StatusLoaded      Status = "loaded"
	StatusInitialized Status = "initialized"
	StatusStarted     Status = "started"
	StatusRunning     Status = "running"
	StatusFinished    Status = "finished"
	StatusStopped     Status = "stopped"
	StatusFailed      Status = "failed"
	StatusCrashed     Status = "crashed"
)

// Final reports whether s ends a run.
func (s Status) Final() bool {
	return s == StatusFinished || s == StatusStopped || s == StatusFailed
}

// Valid reports whether s is a status a client may set.
func (s Status) Valid() bool {
	switch s {
	case StatusRegistered, StatusLoaded, StatusInitialized, StatusStarted, StatusRunning,
		StatusFinished, StatusStopped, StatusFailed:
		return true
	}
	return false
}

// Kind is the kind of a Record.
type Kind string

// Record kinds. The fields each uses are in the comments.
const (
	KindStart    Kind = "start"    // Key = project, Value = name; Time = start time. The first record of a run.
	KindParam    Kind = "param"    // Key, Value (write-once)
	KindMeta     Kind = "meta"     // Key, Value (last write wins)
	KindResult   Kind = "result"   // Key, Value (non-scalar; scalars travel as Points), Step
	KindNote     Kind = "note"     // Value = text
	KindTag      Kind = "tag"      // Key = tag
	KindUntag    Kind = "untag"    // Key = tag
	KindStatus   Kind = "status"   // Key = Status; Value = optional message
	KindProgress Kind = "progress" // Value = float64 0–100
	KindStep     Kind = "step"     // Step
	KindArtifact Kind = "artifact" // Key = name, Value = ArtifactRef as a map
	KindCount    Kind = "count"    // Key = name, Value = map{calls, seconds}
	KindParent   Kind = "parent"   // Key = the parent run's id; only in the batch that creates the run (parent.go)
)

// Record is one sequenced item of a run. Seq starts at 1 for a run's start
// record and grows by one per record and per point; Time is Unix
// nanoseconds on the client.
type Record struct {
	Seq   int64  `msgpack:"seq"`
	Kind  Kind   `msgpack:"kind"`
	Key   string `msgpack:"key,omitempty"`
	Value any    `msgpack:"value"` // not omitempty: a zero is a value
	Step  int64  `msgpack:"step,omitempty"`
	Time  int64  `msgpack:"time"`
}

// Points are scalar results in columns (all slices of one length): point i
// is result Keys[Key[i]] = Value[i] at Step[i], Time[i] (Unix ns), with
// record number Seq[i]. Columns of numbers travel packed over rpc.
type Points struct {
	Keys  []string
	Key   []int64
	Seq   []int64
	Step  []int64
	Time  []int64
	Value []float64
}

// Len returns the number of points.
func (p *Points) Len() int { return len(p.Seq) }

// Batch is what a client sends: records and points of one run. Records and
// points are each in Seq order; together they hold a run's records in order.
type Batch struct {
	Run     string   `msgpack:"run"`
	Records []Record `msgpack:"records"`
	Points  Points   `msgpack:"-"` // sent as separate packed arguments
}

// Rejected is one record a store refused; the rest of its batch was stored.
type Rejected struct {
	Seq   int64  `msgpack:"seq"`
	Error string `msgpack:"error"`
}

// Ack is a store's answer to a batch, given once its transaction committed.
type Ack struct {
	Run      string     `msgpack:"run"`
	Prev     int64      `msgpack:"prev"`          // the run's highest record number before this batch
	HighSeq  int64      `msgpack:"high_seq"`      // the highest record number applied for the run
	Applied  int        `msgpack:"applied"`       // records and points stored by this batch
	Skipped  int        `msgpack:"skipped"`       // already stored (a replay)
	Rejected []Rejected `msgpack:"rejected"`      // refused, with the reason
	Gap      int64      `msgpack:"gap,omitempty"` // records missing before this batch (a spool cut short)
	// HeartbeatMs is how often the server wants to hear from the run (a
	// quarter of its heartbeat timeout); set by the server, not the store.
	HeartbeatMs int64 `msgpack:"heartbeat_ms,omitempty"`
	// Credential is the run's write credential, in the answer to the
	// batch that created the run (docs/security.md); set by the server.
	Credential string `msgpack:"credential,omitempty"`
}

// Run is one run as stored.
type Run struct {
	ID        string            `msgpack:"id" json:"id"`
	Project   string            `msgpack:"project" json:"project"`
	Name      string            `msgpack:"name" json:"name"`
	Status    Status            `msgpack:"status" json:"status"`
	Message   string            `msgpack:"message,omitempty" json:"message,omitempty"`
	Progress  float64           `msgpack:"progress" json:"progress"`
	Step      int64             `msgpack:"step" json:"step"`
	Start     Time              `msgpack:"start" json:"start"`
	Updated   Time              `msgpack:"updated" json:"updated"`
	End       Time              `msgpack:"end,omitempty" json:"end,omitzero"`
	Tags      []string          `msgpack:"tags" json:"tags"`
	Params    map[string]any    `msgpack:"params,omitempty" json:"params,omitempty"`
	Metadata  map[string]any    `msgpack:"metadata,omitempty" json:"metadata,omitempty"`
	Notes     []Note            `msgpack:"notes,omitempty" json:"notes,omitempty"`
	Latest    map[string]Latest `msgpack:"latest,omitempty" json:"latest,omitempty"`
	Series    []SeriesInfo      `msgpack:"series,omitempty" json:"series,omitempty"`
	Artifacts []Artifact        `msgpack:"artifacts,omitempty" json:"artifacts,omitempty"`
	Counts    map[string]any    `msgpack:"counts,omitempty" json:"counts,omitempty"`
	HighSeq   int64             `msgpack:"high_seq" json:"high_seq"`
	// Archived: hidden from the default lists (Store.ArchiveRun), kept
	// and restorable.
	Archived bool `msgpack:"archived,omitempty" json:"archived,omitempty"`
	// Parent is the id of the run this one belongs to ("" for none): a
	// sweep's element names its sweep (parent.go).
	Parent string `msgpack:"parent,omitempty" json:"parent,omitempty"`
	// Omitted counts what a bounded read (Store.ViewRun) left out, by
	// field ("params", "metadata", "counts", "latest", "notes"); values it
	// replaced by markers are not counted here.
	Omitted map[string]int64 `msgpack:"omitted,omitempty" json:"omitted,omitempty"`
}

// Note is a free-text note.
type Note struct {
	Time Time   `msgpack:"time" json:"time"`
	Text string `msgpack:"text" json:"text"`
	// Truncated: a bounded read cut Text (View.MaxValue).
	Truncated bool `msgpack:"truncated,omitempty" json:"truncated,omitempty"`
}

// Latest is the last value of a series.
type Latest struct {
	Value any   `msgpack:"value" json:"value"`
	Step  int64 `msgpack:"step" json:"step"`
	Time  Time  `msgpack:"time" json:"time"`
}

// SeriesInfo summarises one series.
type SeriesInfo struct {
	Key    string `msgpack:"key" json:"key"`
	Scalar bool   `msgpack:"scalar" json:"scalar"`
	Len    int64  `msgpack:"len" json:"len"`
}

// Artifact is a file attached to a run; its content is the blob Sha256.
type Artifact struct {
	Name        string `msgpack:"name" json:"name"`
	Sha256      string `msgpack:"sha256" json:"sha256"`
	Size        int64  `msgpack:"size" json:"size"`
	ContentType string `msgpack:"content_type,omitempty" json:"content_type,omitempty"`
	Result      bool   `msgpack:"result,omitempty" json:"result,omitempty"` // a result that is a file (LogResultFile)
	Present     bool   `msgpack:"present" json:"present"`                   // the blob has been uploaded
	Time        Time   `msgpack:"time" json:"time"`
}

// RunFilter selects runs. Empty fields do not filter.
type RunFilter struct {
	Project string   `msgpack:"project,omitempty"`
	Status  []Status `msgpack:"status,omitempty"`
	Tags    []string `msgpack:"tags,omitempty"` // every tag must be present
	// Params: equality (Eq) or numeric range (Min/Max, inclusive).
	Params []ParamFilter `msgpack:"params,omitempty"`
	// Runs started in [Since, Until); zero means unbounded.
	Since Time `msgpack:"since,omitempty"`
	Until Time `msgpack:"until,omitempty"`
	// Text matches a substring of the name or of a note (case-insensitive).
	Text string `msgpack:"text,omitempty"`
	// Archived lists archived runs too (Store.ArchiveRun); by default
	// they are left out.
	Archived bool `msgpack:"archived,omitempty"`
	// Parent selects the runs whose parent is that run (a sweep's elements).
	Parent string `msgpack:"parent,omitempty"`
	// Paging: runs newest first; After is the id of the last run of the
	// previous page; Limit defaults to 100, at most 1000.
	After string `msgpack:"after,omitempty"`
	Limit int    `msgpack:"limit,omitempty"`
}

// ParamFilter is one condition on a param.
type ParamFilter struct {
	Key string   `msgpack:"key"`
	Eq  any      `msgpack:"eq,omitempty"`
	Min *float64 `msgpack:"min,omitempty"`
	Max *float64 `msgpack:"max,omitempty"`
}

// RunPage is one page of runs (without params, notes or series details).
type RunPage struct {
	Runs []Run  `msgpack:"runs"`
	Next string `msgpack:"next,omitempty"` // After for the next page; "" at the end
}

// SeriesQuery selects points of a series.
type SeriesQuery struct {
	// Steps in [MinStep, MaxStep]; both 0 means all.
	MinStep int64 `msgpack:"min_step,omitempty"`
	MaxStep int64 `msgpack:"max_step,omitempty"`
	// MaxPoints > 0 downsamples to at most that many points: the step range
	// is cut into MaxPoints/2 buckets and each keeps its minimum and its
	// maximum (in step order), so peaks survive.
	MaxPoints int `msgpack:"max_points,omitempty"`
}

// Series is the points of one series.
type Series struct {
	Run         string    `msgpack:"run" json:"run"`
	Key         string    `msgpack:"key" json:"key"`
	Len         int64     `msgpack:"len" json:"len"` // points stored in total
	Downsampled bool      `msgpack:"downsampled" json:"downsampled"`
	Step        []int64   `msgpack:"step" json:"step"`
	Time        []int64   `msgpack:"time" json:"time"`                         // Unix ns
	Value       []float64 `msgpack:"value,omitempty" json:"value,omitempty"`   // scalar series
	Values      []any     `msgpack:"values,omitempty" json:"values,omitempty"` // non-scalar series
	Seq         []int64   `msgpack:"seq" json:"seq"`
}

// LogEntry is one log record of a run.
type LogEntry struct {
	ID      int64          `msgpack:"id" json:"id"` // assigned by the store, increasing
	Run     string         `msgpack:"run" json:"run"`
	Time    Time           `msgpack:"time" json:"time"`
	Level   int            `msgpack:"level" json:"level"` // slog level
	Logger  string         `msgpack:"logger,omitempty" json:"logger,omitempty"`
	Message string         `msgpack:"message" json:"message"`
	Attrs   map[string]any `msgpack:"attrs,omitempty" json:"attrs,omitempty"`
}

// LogQuery selects log records of a run.
type LogQuery struct {
	Run      string `msgpack:"run"`
	MinLevel int    `msgpack:"min_level,omitempty"` // slog level; records below are left out (default: all, from debug-4)
	After    int64  `msgpack:"after,omitempty"`     // id of the last record of the previous page
	Limit    int    `msgpack:"limit,omitempty"`     // default 1000, at most 10,000
	// Tail, if true, returns the last Limit records (After is ignored).
	// On the wire tail is also a count: tail: N is limit: N with tail
	// (LogQuery.DecodeMsgpack).
	Tail bool `msgpack:"tail,omitempty"`
}

// LogPage is one page of log records, oldest first.
type LogPage struct {
	Logs []LogEntry `msgpack:"logs"`
	Next int64      `msgpack:"next,omitempty"` // After for the next page; 0 at the end
}

// BlobState is how much of a blob the store holds.
type BlobState struct {
	Present  bool  `msgpack:"present"`  // complete and verified
	Received int64 `msgpack:"received"` // bytes of an unfinished upload (resume from here)
}

// ExposeHello is the Description a run's rpc server announces on an
// expose connection (wire.BannerExpose).
type ExposeHello struct {
	Run  string `json:"run"`
	Name string `json:"name"`
	// Token authenticates the run to a server with an access file
	// (docs/security.md); omitted when the run has none.
	Token string `json:"token,omitempty"`
	// CallableBy grants calls of the object to every identity of this
	// role or above ("viewer", "runner"), beside the run's owner, an admin
	// and holders of the run's credential; "" grants nothing more.
	CallableBy string `json:"callable_by,omitempty"`
}
