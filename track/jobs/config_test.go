package jobs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/jobs"
)

func TestConfigExample(t *testing.T) {
	cfg, err := jobs.LoadConfig("testdata/solvers.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Solvers) != 3 {
		t.Fatalf("%d solvers", len(cfg.Solvers))
	}
	s := cfg.Solvers[0]
	if s.ID() != "sleeper@1.0.0" || len(s.Inputs) != 6 || s.Inputs[0].Key != "mode" || s.Inputs[2].Key != "steps" {
		t.Fatalf("solver %+v", s)
	}
	st := s.Inputs[2]
	if st.Min == nil || *st.Min != 1 || *st.Max != 65 || st.Default != int64(3) || st.Unit != "step" {
		t.Fatalf("steps port %+v", st)
	}
	if !s.Inputs[3].IsRequired(true) || s.Inputs[1].IsRequired(true) || s.Inputs[0].IsRequired(true) {
		t.Fatal("required flags wrong")
	}
}

func TestConfigErrors(t *testing.T) {
	head := "[[solver]]\nname = \"s\"\nversion = \"1\"\ncommand = [\"x\"]\n"
	tests := []struct {
		name, text string
		line       int
		want       string
	}{
		{"syntax", "[[solver]]\nname = \"s\nversion = 1\n", 2, "string"},
		{"wrong type", head + "time_limit = 5\n", 5, "time_limit"},
		{"unknown field", head + "colour = \"red\"\n", 5, "colour: unknown field"},
		{"unknown port field", head + "[[solver.input]]\nkey = \"a\"\ntype = \"integer\"\nmaximum = 3\n", 8, "maximum"},
		{"no solvers", "# nothing\n", 0, "no [[solver]]"},
		{"no command", "[[solver]]\nname = \"s\"\nversion = \"1\"\n", 1, "command"},
		{"bad version", "[[solver]]\nname = \"s\"\nversion = \"\"\ncommand = [\"x\"]\n", 3, "version"},
		{"bad duration", head + "time_limit = \"soon\"\n", 5, "time_limit"},
		{"bad workdir", head + "workdir = \"tmp\"\n", 5, "workdir"},
		{"bad type", head + "[[solver.input]]\nkey = \"a\"\ntype = \"complex\"\n", 7, `input "a": type`},
		{"min above max", head + "[[solver.input]]\nkey = \"a\"\ntype = \"number\"\nmin = 3\nmax = 1\n", 8, "min 3 is above max 1"},
		{"default out of range", head + "[[solver.input]]\nkey = \"b\"\ntype = \"integer\"\nmax = 1\n\n[[solver.input]]\nkey = \"a\"\ntype = \"integer\"\nmax = 1\ndefault = 5\n", 14, `input "a": default`},
		{"enum without values", head + "[[solver.input]]\nkey = \"a\"\ntype = \"enum\"\n", 5, "values"},
		{"duplicate port", head + "[[solver.output]]\nkey = \"a\"\ntype = \"string\"\n[[solver.output]]\nkey = \"a\"\ntype = \"string\"\n", 9, "declared twice"},
		{"unknown placeholder", "[[solver]]\nname = \"s\"\nversion = \"1\"\ncommand = [\"x\", \"{nope}\"]\n", 4, "{nope}"},
		{"placeholder without port", "[[solver]]\nname = \"s\"\nversion = \"1\"\ncommand = [\"x\", \"{input:a}\"]\n", 4, "names no input port"},
		{"duplicate solver", head + head, 5, "declared twice"},
		{"file with path", head + "[[solver.input]]\nkey = \"a\"\ntype = \"file\"\nfilename = \"../x\"\n", 8, "plain file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jobs.ParseConfig([]byte(tt.text), "solvers.toml", "/tmp")
			var ce *jobs.ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, jobs.ErrConfig) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			if ce.Line != tt.line || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q (line %d), want line %d and %q", err, ce.Line, tt.line, tt.want)
			}
		})
	}
}

// TestConfigSlurm: the file's executor and [slurm] are its solvers'
// defaults; sbatch options outside the allowlist, and values a shell or
// sbatch could read more into, are refused.
func TestConfigSlurm(t *testing.T) {
	text := "executor = \"slurm\"\n[slurm]\npartition = \"debug\"\n\n" +
		"[[solver]]\nname = \"a\"\nversion = \"1\"\ncommand = [\"x\"]\n\n" +
		"[[solver]]\nname = \"b\"\nversion = \"1\"\ncommand = [\"x\"]\nexecutor = \"local\"\n" +
		"  [solver.slurm]\n  cpus = 4\n  mem = \"8G\"\n  gres = \"gpu:1\"\n  options = { account = \"lab42\", exclusive = \"\" }\n"
	cfg, err := jobs.ParseConfig([]byte(text), "solvers.toml", "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Solvers[0], cfg.Solvers[1]
	if a.Executor != jobs.ExecutorSlurm || a.Slurm == nil || a.Slurm.Partition != "debug" {
		t.Fatalf("a: %q %+v", a.Executor, a.Slurm)
	}
	if b.Executor != jobs.ExecutorLocal || b.Slurm.CPUs != 4 || b.Slurm.Options["account"] != "lab42" {
		t.Fatalf("b: %q %+v", b.Executor, b.Slurm)
	}
	c, err := jobs.ParseConfig([]byte("[[solver]]\nname = \"c\"\nversion = \"1\"\ncommand = [\"x\"]\ncheckpoint = true\n"), "solvers.toml", "/tmp")
	if err != nil || c.Solvers[0].MaxRestarts != 3 {
		t.Fatalf("checkpoint defaults: %v %+v", err, c)
	}
	head := "[[solver]]\nname = \"s\"\nversion = \"1\"\ncommand = [\"x\"]\n"
	for name, tt := range map[string]struct{ text, want string }{
		"executor":          {head + "executor = \"k8s\"\n", "executor"},
		"option not listed": {head + "[solver.slurm]\noptions = { wrap = \"rm -rf /\" }\n", `"wrap" is not allowed`},
		"output option":     {head + "[solver.slurm]\noptions = { output = \"/etc/x\" }\n", `"output" is not allowed`},
		"value with space":  {head + "[solver.slurm]\noptions = { account = \"a b\" }\n", "bad value"},
		"newline partition": {head + "[solver.slurm]\npartition = \"a\\n#SBATCH --wrap=x\"\n", "bad value"},
		"negative cpus":     {head + "[solver.slurm]\ncpus = -1\n", "cpus"},
		"bad lead":          {head + "checkpoint = true\ncheckpoint_lead = \"soon\"\n", "checkpoint_lead"},
		"negative restarts": {head + "max_restarts = -1\n", "max_restarts"},
	} {
		_, err := jobs.ParseConfig([]byte(tt.text), "solvers.toml", "/tmp")
		if !errors.Is(err, jobs.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tt.want)
		}
	}
}
