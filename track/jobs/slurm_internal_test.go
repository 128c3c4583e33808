package jobs

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSbatchArgs: the time limit in whole minutes (rounded up), resources
// and allowlisted options as argv, in a stable order.
func TestSbatchArgs(t *testing.T) {
	s := &Solver{Slurm: &SlurmSettings{Partition: "gpu", CPUs: 4, Mem: "8G", Gres: "gpu:1", Options: map[string]string{"qos": "short", "exclusive": "", "account": "lab"}}}
	spec := &ExecSpec{JobID: "J", WorkDir: "/d/J/work", JobDir: "/d/J", TimeLimit: 25*time.Hour + 90*time.Second, Solver: s}
	got := sbatchArgs(spec)
	want := []string{"--parsable", "--job-name=sigoco-J", "--chdir=/d/J/work", "--output=/d/J/stdout.log", "--error=/d/J/stderr.log", "--export=ALL",
		"--time=1-01:02:00", "--partition=gpu", "--cpus-per-task=4", "--mem=8G", "--gres=gpu:1", "--account=lab", "--exclusive", "--qos=short"}
	if !slices.Equal(got, want) {
		t.Fatalf("sbatch args\n got %q\nwant %q", got, want)
	}
	// a checkpointing solver: requeue allowed, SIGUSR1 ahead of the limit
	spec.Solver = &Solver{Checkpoint: true, checkpointLead: 5 * time.Minute}
	spec.TimeLimit = 59 * time.Second
	got = sbatchArgs(spec)
	if !slices.Equal(got[6:], []string{"--time=0-00:01:00", "--requeue", "--signal=B:USR1@300"}) {
		t.Fatalf("checkpointing sbatch args %q", got)
	}
}

// TestSlurmStateMapping: each final Slurm state becomes the result the
// job's state machine turns into the documented job state.
func TestSlurmStateMapping(t *testing.T) {
	for _, tt := range []struct {
		f    slurmFinal
		want string
	}{
		{slurmFinal{state: "COMPLETED"}, "exit 0"},
		{slurmFinal{state: "FAILED", code: 3, reason: "NonZeroExitCode"}, "exit 3 err"},
		{slurmFinal{state: "FAILED", signal: 9}, "signal 9 err"},
		{slurmFinal{state: "CANCELLED"}, "exit 0 cancelled Slurm: CANCELLED (scancel outside trackd)"},
		{slurmFinal{state: "TIMEOUT", timeLimit: "00:01:00", signal: 15}, "signal 15 failure Slurm: TIMEOUT (time limit 00:01:00 exceeded)"},
		{slurmFinal{state: "NODE_FAIL"}, "exit 0 failure Slurm: NODE_FAIL (a node of the job failed)"},
		{slurmFinal{state: "OUT_OF_MEMORY", code: 0}, "exit 0 failure Slurm: OUT_OF_MEMORY (the job exceeded its memory)"},
		{slurmFinal{state: "PREEMPTED", reason: "None"}, "exit 0 failure Slurm: PREEMPTED"},
		{slurmFinal{state: "BOOT_FAIL", reason: "NodeDown"}, "exit 0 failure Slurm: BOOT_FAIL (NodeDown)"},
	} {
		x := newSlurmExecutor(SlurmOptions{}, nil)
		spec := &ExecSpec{JobDir: t.TempDir(), Stdout: io.Discard, Stderr: io.Discard}
		h := &slurmHandle{x: x, id: "1", spec: spec, done: make(chan struct{}), detach: make(chan struct{})}
		h.files = [2]*fileFollower{{path: spec.JobDir + "/o", w: io.Discard}, {path: spec.JobDir + "/e", w: io.Discard}}
		h.end(tt.f)
		r := h.res
		var b strings.Builder
		if r.ExitCode != nil {
			b.WriteString("exit " + strconv.Itoa(*r.ExitCode))
		} else {
			b.WriteString(r.Signal)
		}
		if r.Err != nil {
			b.WriteString(" err")
		}
		if r.Cancelled {
			b.WriteString(" cancelled " + r.CancelReason)
		}
		if r.Failure != "" {
			b.WriteString(" failure " + r.Failure)
		}
		if b.String() != tt.want {
			t.Errorf("%+v: %q, want %q", tt.f, b.String(), tt.want)
		}
	}
	if c, s := parseExit("3:0"); c != 3 || s != 0 {
		t.Errorf("parseExit 3:0 = %d %d", c, s)
	}
	if c, s := parseExit("0:15"); c != 0 || s != 15 {
		t.Errorf("parseExit 0:15 = %d %d", c, s)
	}
}
