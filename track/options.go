package track

import (
	"crypto/tls"
	"github.com/sigoco/sigoco/wire/auth"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultAddr is the tracking server's address when neither
// Options.Addr nor SIGOCO_TRACK_ADDR sets one.
const DefaultAddr = "127.0.0.1:3250"

// Environment variables read by Start.
const (
	EnvAddr   = "SIGOCO_TRACK_ADDR"   // the server's address
	EnvRun    = "SIGOCO_TRACK_RUN"    // a run id chosen for this process (set by a launcher)
	EnvParent = "SIGOCO_TRACK_PARENT" // the parent of this process's run (set by a launcher)
)

// Options configures Start. The zero value works: a run in project
// "default" on the server at DefaultAddr.
type Options struct {
	// Project groups runs. Default "default".
	Project string
	// Name names the run. Default: the program's base name.
	Name string
	// ID is the run id. Default: $SIGOCO_TRACK_RUN, else a new UUIDv7.
	ID string
	// Parent is the id of the run this one belongs to (an optimizer's
	// run for its trials, a study's for its simulations): it is sent
	// with the start record, in the batch that creates the run, and never
	// changes (docs/tracking.md, "Parent runs"). The parent must exist
	// and be visible to the caller; the server refuses the record
	// otherwise (store.ErrBadParent), which Flush and End report, and the
	// run is made without a parent. A resumed run that exists keeps the
	// parent it has and sends none. Default: $SIGOCO_TRACK_PARENT.
	Parent string
	// Resume continues a run that exists (Options.ID or $SIGOCO_TRACK_RUN):
	// a requeued job, a simulation restarted with the same id. Start then
	// asks the server for the run's last stored record number (the
	// tracker's resume_run) and numbers this process's records after it, so
	// the run's series go on unbroken; the run's status starts again at
	// registered. Without Resume a second process on a run numbers its
	// records from 1 and the server drops them all as replays. Start
	// needs the server to resume (it waits up to CallTimeout) and fails
	// with ErrResume when it cannot reach it or the run is final or
	// deleted; a run the server does not know is started as a new one.
	// Resume is not automatic for a given ID because Start would then
	// wait for the server on every launch. Default: $SIGOCO_TRACK_RESUME
	// set to 1 or true.
	Resume bool
	// Addr is the server's host:port. Default $SIGOCO_TRACK_ADDR, else
	// DefaultAddr. Either may be a comma-separated list (as Addrs).
	Addr string
	// Addrs lists servers sharing one store (trackd nodes on one
	// PostgreSQL database): the run reports to the first it reaches and
	// moves to the next when that one is gone, replaying its spool there
	// (each record is stored once). Default: Addr split at commas; Addr
	// becomes Addrs[0].
	Addrs []string
	// TLS, if set, makes every connection to the server TLS.
	TLS *tls.Config
	// Token authenticates the run to a server with an access file
	// (docs/security.md) on every connection: rpc, logs and exposes.
	// Default $SIGOCO_TOKEN; none when that is empty too.
	Token string
	// Credential is the run's write credential (docs/security.md, "Run
	// credentials"), presented instead of Token. Default
	// $SIGOCO_RUN_CREDENTIAL (trackd sets it for a job's solver), else the
	// one kept in the run's spool directory; a run started without one
	// gets it from the server.
	Credential string
	// SpoolDir holds the runs' spools (records the server has not taken
	// yet) and staged artifacts, one directory per run. Default
	// $XDG_CACHE_HOME/sigoco/track-spool (os.UserCacheDir).
	SpoolDir string
	// MaxSpoolBytes bounds one run's spool file; records beyond it are
	// dropped and counted (an error at Flush and End). Default 1 GiB.
	MaxSpoolBytes int64
	// FlushInterval is how often the queue is sent when it is not full.
	// Default 100 ms.
	FlushInterval time.Duration
	// BatchSize is the most records and points in one batch. Default
	// 50,000 (the server accepts up to 200,000 by default).
	BatchSize int
	// MaxQueued bounds the records and points waiting in memory. When
	// more than half of it waits after a batch was sent (the server is
	// slower than the simulation), the backlog moves to the spool, in
	// order; results logged while it is full are dropped and counted.
	// Default 1,000,000.
	MaxQueued int
	// HeartbeatInterval is how often the run tells the server it is alive
	// when it has nothing to send. Default 2 s.
	HeartbeatInterval time.Duration
	// CallTimeout bounds one call to the server. Default 30 s.
	CallTimeout time.Duration
	// LogLevel is the lowest level Logger forwards. Default slog.LevelInfo.
	LogLevel slog.Leveler
	// LogToStderr makes Logger also write to stderr.
	LogToStderr bool
	// NoMetadata turns off the automatic metadata (build info, host,
	// command line), the source snapshot, the end statistics and the
	// system metrics.
	NoMetadata bool
	// NoSource turns off the source snapshot: a tar.gz of the project's
	// files (artifact source.tar.gz; see ProjectPath) and, in a git
	// checkout with local changes, their diff (source.diff), made in the
	// background.
	NoSource bool
	// ProjectPath names the folder whose source is snapshotted (SimplyPy's
	// project_path): the files git tracks when it is a git checkout, else
	// every regular file under it (hidden ones and links left out).
	// Default: the main module's tree when the program runs from it, else
	// the main package's directory (its .go files, go.mod, go.sum).
	ProjectPath string
	// MaxSourceBytes bounds the files in the source snapshot. Default
	// DefaultMaxSourceBytes (8 MiB).
	MaxSourceBytes int64
	// CPUProfile records a CPU profile (pprof) from Start to End, attached
	// as the artifact cpu.pprof.
	CPUProfile bool
	// SysMetricsInterval is how often the process's CPU, memory, GC and
	// goroutines are sampled as the sys.* series (sysmetrics.go).
	// Default DefaultSysMetricsInterval (10 s).
	SysMetricsInterval time.Duration
	// NoSysMetrics turns off the sys.* series (so does NoMetadata).
	NoSysMetrics bool
	// NoGPUMetrics turns off the sys.gpu<i>.* series alone (sysgpu.go):
	// no nvidia-smi is run.
	NoGPUMetrics bool
	// GPUCommand is the nvidia-smi run for the sys.gpu<i>.* series: a
	// path, or a wrapper that takes nvidia-smi's arguments (to reach the
	// GPUs from a container, say). Default: nvidia-smi, looked up on PATH
	// once at Start; where there is none, no GPU series.
	GPUCommand string
	// CountInterval, if set, also records the call counts (Count, Timed,
	// Counted, Wrap) during the run, at most once per interval, on a
	// counting call; the server keeps the latest. Default 0: at End only.
	CountInterval time.Duration
	// Logger receives the client's own diagnostics (server down, spooling,
	// replays). Default: discarded.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Token == "" {
		o.Token = os.Getenv(auth.EnvToken)
	}
	if o.Credential == "" {
		o.Credential = os.Getenv(EnvRunCredential)
	}
	if o.Project == "" {
		o.Project = "default"
	}
	if o.Name == "" {
		o.Name = filepath.Base(os.Args[0])
	}
	if o.ID == "" {
		o.ID = os.Getenv(EnvRun)
	}
	if o.ID == "" {
		o.ID = NewID()
	}
	if o.Parent == "" {
		o.Parent = os.Getenv(EnvParent)
	}
	if !o.Resume {
		o.Resume = resumeFromEnv()
	}
	o.addrDefaults(os.Getenv(EnvAddr)) // failover.go
	if o.SpoolDir == "" {
		o.SpoolDir = DefaultSpoolDir()
	}
	if o.MaxSpoolBytes <= 0 {
		o.MaxSpoolBytes = 1 << 30
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 50_000
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 1_000_000
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 2 * time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.SysMetricsInterval <= 0 {
		o.SysMetricsInterval = DefaultSysMetricsInterval
	}
	if o.MaxSourceBytes <= 0 {
		o.MaxSourceBytes = DefaultMaxSourceBytes
	}
	if o.LogLevel == nil {
		o.LogLevel = slog.LevelInfo
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// DefaultSpoolDir is Options.SpoolDir's default.
func DefaultSpoolDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "sigoco", "track-spool")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
