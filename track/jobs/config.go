package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Port types.
const (
	TypeInteger = "integer"
	TypeNumber  = "number"
	TypeBoolean = "boolean"
	TypeString  = "string"
	TypeEnum    = "enum"
	TypeFile    = "file"
)

// Working-directory policies (Solver.Workdir).
const (
	WorkdirKeep  = "keep"  // the job's work directory stays until the job is deleted (default)
	WorkdirClean = "clean" // removed once the outputs are collected (logs are kept)
)

// Port is one input or output of a solver, as oSPARC describes its ports.
type Port struct {
	Key         string `toml:"key" msgpack:"key" json:"key"`
	Label       string `toml:"label" msgpack:"label,omitempty" json:"label,omitempty"`
	Description string `toml:"description" msgpack:"description,omitempty" json:"description,omitempty"`
	// Order is the display order (ports are listed by it, then by key).
	Order int `toml:"order" msgpack:"order" json:"order"`
	// Type: integer, number, boolean, string, enum or file.
	Type string `toml:"type" msgpack:"type" json:"type"`
	// ContentType of a file port (e.g. "text/plain").
	ContentType string `toml:"content_type" msgpack:"content_type,omitempty" json:"content_type,omitempty"`
	// Filename a file port has in the job's work directory. Default: Key.
	Filename string `toml:"filename" msgpack:"filename,omitempty" json:"filename,omitempty"`
	// Unit of a number or integer (e.g. "second").
	Unit string `toml:"unit" msgpack:"unit,omitempty" json:"unit,omitempty"`
	// Min and Max bound a number or integer (inclusive); nil: unbounded.
	Min *float64 `toml:"min" msgpack:"min,omitempty" json:"min,omitempty"`
	Max *float64 `toml:"max" msgpack:"max,omitempty" json:"max,omitempty"`
	// Values lists the choices of an enum.
	Values []string `toml:"values" msgpack:"values,omitempty" json:"values,omitempty"`
	// Default is used when the input is not given.
	Default any `toml:"default" msgpack:"default" json:"default,omitempty"`
	// Required: an input without a default is required unless
	// required = false; an output is required only with required = true.
	Required *bool `toml:"required" msgpack:"required,omitempty" json:"required,omitempty"`
}

// IsRequired reports whether the port must be given (input) or written
// (output).
func (p *Port) IsRequired(input bool) bool {
	if p.Required != nil {
		return *p.Required
	}
	return input && p.Default == nil
}

// FileName is the name of a file port in the work directory.
func (p *Port) FileName() string {
	if p.Filename != "" {
		return p.Filename
	}
	return p.Key
}

// Solver is one version of a solver: a program and its ports.
type Solver struct {
	Name        string `toml:"name" msgpack:"name" json:"name"`
	Version     string `toml:"version" msgpack:"version" json:"version"`
	Description string `toml:"description" msgpack:"description,omitempty" json:"description,omitempty"`
	// Project of the job runs. Default "jobs".
	Project string `toml:"project" msgpack:"project" json:"project"`
	// Command is the argv template (no shell). Placeholders: {workdir},
	// {inputs_file}, {outputs_file}, {job_id}, {config_dir}, {trackd}
	// (the running server's own executable, for solvers built into it) and
	// {input:KEY} (the input's value; a file input's path). A relative
	// program path with a slash is relative to the configuration file.
	Command []string `toml:"command" msgpack:"command" json:"command"`
	// Workdir is the working-directory policy: "keep" (default) or "clean".
	Workdir string `toml:"workdir" msgpack:"workdir" json:"workdir"`
	// Env is added to the child's environment.
	Env map[string]string `toml:"env" msgpack:"env,omitempty" json:"env,omitempty"`
	// CleanEnv starts the child's environment empty (but PATH, HOME and
	// TMPDIR) instead of trackd's.
	CleanEnv bool `toml:"clean_env" msgpack:"clean_env,omitempty" json:"clean_env,omitempty"`
	// TimeLimit ends a job that runs longer (FAILED); "" is no limit.
	TimeLimit string `toml:"time_limit" msgpack:"time_limit,omitempty" json:"time_limit,omitempty"`
	// Grace is how long a stopped job has between SIGTERM and SIGKILL.
	// Default "5s".
	Grace string `toml:"grace" msgpack:"grace,omitempty" json:"grace,omitempty"`
	// Track: the solver reports with the track client into its job's run
	// (it gets SIGOCO_TRACK_RUN); trackd then leaves the run's status and
	// progress to it while it runs.
	Track bool `toml:"track" msgpack:"track,omitempty" json:"track,omitempty"`

	// Executor runs the solver's jobs: "local" (a process of trackd's) or
	// "slurm" (a Slurm batch job); "" is the file's executor, else
	// trackd's --executor.
	Executor string `toml:"executor" msgpack:"executor,omitempty" json:"executor,omitempty"`
	// Slurm: the solver's resources on a Slurm cluster (partition, cpus,
	// mem, gres, allowlisted sbatch options); default the file's [slurm].
	Slurm *SlurmSettings `toml:"slurm" msgpack:"slurm,omitempty" json:"slurm,omitempty"`
	// Checkpoint (Slurm only): the solver saves its state when it gets
	// SIGUSR1, sent CheckpointLead before its time limit (sbatch --signal),
	// and resumes from it when started again; a job ended by its time
	// limit is then requeued, up to MaxRestarts times (default 3), and its
	// run goes on (track solvers resume it: SIGOCO_TRACK_RESUME=1).
	Checkpoint     bool   `toml:"checkpoint" msgpack:"checkpoint,omitempty" json:"checkpoint,omitempty"`
	MaxRestarts    int    `toml:"max_restarts" msgpack:"max_restarts,omitempty" json:"max_restarts,omitempty"`
	CheckpointLead string `toml:"checkpoint_lead" msgpack:"checkpoint_lead,omitempty" json:"checkpoint_lead,omitempty"`

	Inputs  []Port `toml:"input" msgpack:"inputs" json:"inputs"`
	Outputs []Port `toml:"output" msgpack:"outputs" json:"outputs"`

	timeLimit      time.Duration
	grace          time.Duration
	checkpointLead time.Duration
	configDir      string
	checked        bool
}

// ID is "name@version".
func (s *Solver) ID() string { return s.Name + "@" + s.Version }

// Config is a solvers file.
type Config struct {
	// Executor and Slurm are the defaults of the file's solvers (keys
	// before the first [[solver]]).
	Executor string         `toml:"executor"`
	Slurm    *SlurmSettings `toml:"slurm"`
	Solvers  []*Solver      `toml:"solver"`
}

// ConfigError is a mistake in a solvers file, with where it is.
type ConfigError struct {
	File  string
	Line  int    // 0 if unknown
	Field string // e.g. `solver "sleeper" 2.1.6: input "input_2": min`
	Msg   string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("jobs: ")
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("solvers config")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrConfig is wrapped by every *ConfigError (errors.Is).
var ErrConfig = errors.New("jobs: bad solvers configuration")

// Unwrap makes errors.Is(err, ErrConfig) hold.
func (e *ConfigError) Unwrap() error { return ErrConfig }

// LoadConfig reads a solvers file (TOML).
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jobs: solvers config: %w", err)
	}
	abs, _ := filepath.Abs(path)
	return ParseConfig(data, path, filepath.Dir(abs))
}

// ParseConfig parses a solvers file. name is used in errors; dir resolves
// relative program paths and {config_dir}. A relative dir is made absolute
// now: a job runs in its own working directory, where a relative
// {config_dir} would name nothing.
func ParseConfig(data []byte, name, dir string) (*Config, error) {
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
	}
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &ConfigError{File: name, Line: pe.Position.Line, Field: pe.LastKey, Msg: pe.Message}
		}
		if m := decodeErrRe.FindStringSubmatch(err.Error()); m != nil { // a type mismatch
			line, _ := strconv.Atoi(m[1])
			return nil, &ConfigError{File: name, Line: line, Field: m[2], Msg: m[3]}
		}
		return nil, &ConfigError{File: name, Msg: err.Error()}
	}
	loc := locator{lines: strings.Split(string(data), "\n")}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return nil, &ConfigError{File: name, Line: loc.key(k[len(k)-1]), Field: k.String(), Msg: "unknown field"}
	}
	if len(c.Solvers) == 0 {
		return nil, &ConfigError{File: name, Msg: "no [[solver]] declared"}
	}
	seen := map[string]bool{}
	for i, s := range c.Solvers {
		s.configDir = dir
		if s.Executor == "" {
			s.Executor = c.Executor
		}
		if s.Slurm == nil {
			s.Slurm = c.Slurm
		}
		if err := s.check(); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				ce.File = name
				ce.Line = loc.find(i, ce)
			}
			return nil, err
		}
		if seen[s.ID()] {
			return nil, &ConfigError{File: name, Line: loc.solver(i), Field: fmt.Sprintf("solver %q %s", s.Name, s.Version), Msg: "declared twice"}
		}
		seen[s.ID()] = true
	}
	return &c, nil
}

var (
	decodeErrRe   = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)
	nameRe        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-/]*$`)
	keyRe         = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	placeholderRe = regexp.MustCompile(`\{([^{}]*)\}`)
)

// check validates a solver; errors carry the field (and the port) but not
// the line, which ParseConfig finds.
func (s *Solver) check() error {
	where := fmt.Sprintf("solver %q %s", s.Name, s.Version)
	bad := func(field, format string, a ...any) error {
		return &ConfigError{Field: where + ": " + field, Msg: fmt.Sprintf(format, a...)}
	}
	if !nameRe.MatchString(s.Name) {
		return bad("name", "must be letters, digits, '_', '-', '.', '/' (got %q)", s.Name)
	}
	if !nameRe.MatchString(s.Version) {
		return bad("version", "must be set, letters, digits, '_', '-', '.' (got %q)", s.Version)
	}
	if s.Project == "" {
		s.Project = "jobs"
	}
	switch s.Executor {
	case "", ExecutorLocal, ExecutorSlurm:
	default:
		return bad("executor", "must be %q or %q (got %q)", ExecutorLocal, ExecutorSlurm, s.Executor)
	}
	if s.MaxRestarts < 0 {
		return bad("max_restarts", "must not be negative (got %d)", s.MaxRestarts)
	}
	if s.Checkpoint && s.MaxRestarts == 0 {
		s.MaxRestarts = 3
	}
	s.checkpointLead = 60 * time.Second
	if s.CheckpointLead != "" {
		var err error
		if s.checkpointLead, err = time.ParseDuration(s.CheckpointLead); err != nil || s.checkpointLead < time.Second {
			return bad("checkpoint_lead", "must be a duration of a second or more, such as \"2m\" (got %q)", s.CheckpointLead)
		}
	}
	if err := s.Slurm.check(bad); err != nil {
		return err
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		return bad("command", "an argv list, program first, is required")
	}
	switch s.Workdir {
	case "":
		s.Workdir = WorkdirKeep
	case WorkdirKeep, WorkdirClean:
	default:
		return bad("workdir", "must be %q or %q (got %q)", WorkdirKeep, WorkdirClean, s.Workdir)
	}
	if err := s.checkLimits(bad); err != nil {
		return err
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return bad("env", "bad variable name %q", k)
		}
	}
	if err := checkPorts(where, "input", s.Inputs, true); err != nil {
		return err
	}
	if err := checkPorts(where, "output", s.Outputs, false); err != nil {
		return err
	}
	if err := s.checkPlaceholders(bad); err != nil {
		return err
	}
	slices.SortStableFunc(s.Inputs, func(a, b Port) int { return a.Order - b.Order })
	slices.SortStableFunc(s.Outputs, func(a, b Port) int { return a.Order - b.Order })
	s.checked = true
	return nil
}

// checkLimits parses time_limit (none by default) and grace (5 s by
// default).
func (s *Solver) checkLimits(bad func(field, format string, a ...any) error) error {
	var err error
	if s.TimeLimit != "" {
		if s.timeLimit, err = time.ParseDuration(s.TimeLimit); err != nil || s.timeLimit <= 0 {
			return bad("time_limit", "must be a positive duration such as \"90s\" or \"2h\" (got %q)", s.TimeLimit)
		}
	}
	s.grace = 5 * time.Second
	if s.Grace != "" {
		if s.grace, err = time.ParseDuration(s.Grace); err != nil || s.grace < 0 {
			return bad("grace", "must be a duration such as \"5s\" (got %q)", s.Grace)
		}
	}
	return nil
}

// checkPlaceholders refuses a {placeholder} of the command that is not
// known, or an {input:KEY} naming no input port.
func (s *Solver) checkPlaceholders(bad func(field, format string, a ...any) error) error {
	for _, a := range s.Command {
		for _, m := range placeholderRe.FindAllStringSubmatch(a, -1) {
			switch p := m[1]; {
			case p == "workdir", p == "inputs_file", p == "outputs_file", p == "job_id", p == "config_dir", p == "trackd":
			case strings.HasPrefix(p, "input:"):
				if s.input(p[len("input:"):]) == nil {
					return bad("command", "placeholder {%s} names no input port", p)
				}
			default:
				return bad("command", "unknown placeholder {%s} (known: {workdir} {inputs_file} {outputs_file} {job_id} {config_dir} {trackd} {input:KEY})", p)
			}
		}
	}
	return nil
}

func (s *Solver) input(key string) *Port {
	for i := range s.Inputs {
		if s.Inputs[i].Key == key {
			return &s.Inputs[i]
		}
	}
	return nil
}

func checkPorts(where, kind string, ports []Port, input bool) error {
	seen := map[string]bool{}
	files := map[string]string{}
	for i := range ports {
		p := &ports[i]
		pw := fmt.Sprintf("%s: %s %q", where, kind, p.Key)
		bad := func(field, format string, a ...any) error {
			return &ConfigError{Field: pw + ": " + field, Msg: fmt.Sprintf(format, a...)}
		}
		if !keyRe.MatchString(p.Key) {
			return bad("key", "must be an identifier (letters, digits, '_'), got %q", p.Key)
		}
		if seen[p.Key] {
			return bad("key", "declared twice")
		}
		seen[p.Key] = true
		switch p.Type {
		case TypeInteger, TypeNumber, TypeBoolean, TypeString, TypeEnum, TypeFile:
		case "":
			return bad("type", "required: integer, number, boolean, string, enum or file")
		default:
			return bad("type", "unknown type %q (integer, number, boolean, string, enum or file)", p.Type)
		}
		if (p.Min != nil || p.Max != nil) && p.Type != TypeInteger && p.Type != TypeNumber {
			return bad("min", "only integer and number ports have a range")
		}
		if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
			return bad("min", "min %v is above max %v", *p.Min, *p.Max)
		}
		if p.Type == TypeEnum && len(p.Values) == 0 {
			return bad("values", "an enum needs its values")
		}
		if p.Type != TypeEnum && len(p.Values) > 0 {
			return bad("values", "only an enum has values")
		}
		if p.Type == TypeFile {
			fn := p.FileName()
			if fn != filepath.Base(fn) || fn == "." || fn == ".." || fn == "inputs.json" || fn == "outputs.json" {
				return bad("filename", "%q must be a plain file name (not inputs.json or outputs.json)", fn)
			}
			if other, ok := files[fn]; ok {
				return bad("filename", "%q is also the file of %q", fn, other)
			}
			files[fn] = p.Key
			if p.Default != nil {
				return bad("default", "a file port has no default")
			}
		} else if p.ContentType != "" || p.Filename != "" {
			return bad("content_type", "only a file port has a content type and a file name")
		}
		if p.Default != nil {
			v, err := coerce(p, p.Default)
			if err != nil {
				return bad("default", "%v", err)
			}
			p.Default = v
		}
	}
	return nil
}

// locator finds the line of a field in a solvers file: the i-th [[solver]]
// table, then the port's [[solver.input]]/[[solver.output]] table, then the
// field's key. It is a plain scan of the text, good for the layouts people
// write; 0 when it cannot tell.
type locator struct{ lines []string }

var headerRe = regexp.MustCompile(`^\s*\[\[\s*([A-Za-z_.\s]+?)\s*\]\]`)

func (l *locator) headers(name string, from, to int) []int {
	var out []int
	for i := from; i < to && i < len(l.lines); i++ {
		if m := headerRe.FindStringSubmatch(l.lines[i]); m != nil && strings.ReplaceAll(m[1], " ", "") == name {
			out = append(out, i)
		}
	}
	return out
}

func (l *locator) solver(i int) int {
	h := l.headers("solver", 0, len(l.lines))
	if i < len(h) {
		return h[i] + 1
	}
	return 0
}

func (l *locator) key(k string) int {
	re := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(k) + `"?\s*=`)
	for i, s := range l.lines {
		if re.MatchString(s) {
			return i + 1
		}
	}
	return 0
}

var fieldPortRe = regexp.MustCompile(`: (input|output) "([^"]*)": (\w+)$`)
var fieldSolverRe = regexp.MustCompile(`: (\w+)$`)

func (l *locator) find(i int, ce *ConfigError) int {
	hs := l.headers("solver", 0, len(l.lines))
	if i >= len(hs) {
		return 0
	}
	from, to := hs[i], len(l.lines)
	if i+1 < len(hs) {
		to = hs[i+1]
	}
	keyLine := func(from, to int, key string) int {
		re := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(key) + `\s*=`)
		for j := from; j < to; j++ {
			if re.MatchString(l.lines[j]) {
				return j + 1
			}
		}
		return from + 1
	}
	if m := fieldPortRe.FindStringSubmatch(ce.Field); m != nil {
		ports := l.headers("solver."+m[1], from, to)
		quoted := regexp.MustCompile(`^\s*key\s*=\s*["']` + regexp.QuoteMeta(m[2]) + `["']`)
		last := strings.HasSuffix(ce.Msg, "declared twice") // point at the second
		if last {
			slices.Reverse(ports)
		}
		for n, p := range ports {
			end := to
			if !last && n+1 < len(ports) {
				end = ports[n+1]
			} else if last && n > 0 {
				end = ports[n-1]
			}
			for j := p; j < end; j++ {
				if quoted.MatchString(l.lines[j]) {
					return keyLine(p, end, m[3])
				}
			}
		}
		return from + 1
	}
	if m := fieldSolverRe.FindStringSubmatch(ce.Field); m != nil {
		end := to
		if ps := append(l.headers("solver.input", from, to), l.headers("solver.output", from, to)...); len(ps) > 0 {
			end = slices.Min(ps)
		}
		return keyLine(from, end, m[1])
	}
	return from + 1
}
