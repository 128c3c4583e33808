package sipycotest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultTimeout bounds each wait of an [Env] whose Timeout is zero.
const DefaultTimeout = 30 * time.Second

const skipHint = "python3 cannot import sipyco with numpy (install python3-numpy and set " +
	"SIGOCO_SIPYCO_PATH to a SiPyCo source tree, your own clone of m-labs/sipyco)"

// Env is a python3 that can import SiPyCo, with sigoco's scripts written
// out beside it. Get one from [Python].
type Env struct {
	Python     string        // interpreter, as found (e.g. /usr/bin/python3)
	PythonPath string        // directory put on PYTHONPATH; "" if sipyco is installed
	SiPyCo     string        // directory of the imported sipyco package
	Versions   string        // "python 3.11.2, numpy 1.24.2" (for logs)
	Timeout    time.Duration // bounds each wait: Run, ready lines, Line, Wait; 0 means DefaultTimeout
	dir        string        // the scripts
}

type probeResult struct {
	env    Env
	reason string // non-empty: skip with it
}

var (
	probeMu    sync.Mutex
	probeCache = map[string]probeResult{}
)

// Python returns an Env for the test. When SiPyCo cannot be run it skips
// the test saying why — in CI too: SiPyCo's code is not kept beside the
// project and no registry these machines reach has it, so CI checks
// SiPyCo compatibility from the recordings of ../shared/sipyco-wire (the
// replay tests, which always run) and real SiPyCo only where a developer
// points SIGOCO_SIPYCO_PATH at a tree. There, a SiPyCo that cannot be run
// fails the test instead of skipping it: the developer asked for it.
// `go test -short` skips.
//
// SiPyCo is looked for on PYTHONPATH=$SIGOCO_SIPYCO_PATH if that variable
// is set and not empty, else among python3's own packages. The interpreters tried are
// $SIGOCO_PYTHON, python3 on PATH and /usr/bin/python3; the first that
// imports sipyco and numpy is used. The check runs once per test binary.
func Python(t testing.TB) Env {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: SiPyCo integration test in -short mode")
	}
	dir := t.TempDir()
	if err := writeScripts(dir); err != nil {
		t.Fatalf("sipycotest: writing scripts: %v", err)
	}
	path, where := sipycoPath()
	key := path + "\x00" + os.Getenv("SIGOCO_PYTHON")
	probeMu.Lock()
	res, ok := probeCache[key]
	if !ok {
		res = probe(context.Background(), dir, path)
		if res.reason != "" && path == "" {
			res.reason += " (" + where + ")"
		}
		probeCache[key] = res
	}
	probeMu.Unlock()
	if res.reason != "" {
		if path != "" {
			t.Fatalf("sipycotest: SIGOCO_SIPYCO_PATH=%s is set, so a test that needs SiPyCo fails instead of skipping: %s",
				path, res.reason)
		}
		t.Skip("skipping: " + res.reason)
	}
	e := res.env
	e.dir = dir
	return e
}

// sipycoPath returns the directory to put on PYTHONPATH ("" for none) and,
// when it is "", a note on where SiPyCo was looked for.
func sipycoPath() (path, where string) {
	if p := os.Getenv("SIGOCO_SIPYCO_PATH"); p != "" {
		return p, ""
	}
	return "", "SIGOCO_SIPYCO_PATH unset"
}

// probe tries each interpreter with path on PYTHONPATH.
func probe(ctx context.Context, dir, path string) probeResult {
	var tried []string
	for _, py := range interpreters() {
		e := Env{Python: py, PythonPath: path, dir: dir}
		ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
		cmd := e.Command(ctx, probeScript)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err == nil {
			var info struct {
				Python, Numpy, SiPyCo string
				Shim                  bool `json:"numpy_dtypes_shim"`
			}
			if jerr := json.Unmarshal(stdout.Bytes(), &info); jerr == nil {
				e.SiPyCo = info.SiPyCo
				e.Versions = fmt.Sprintf("python %s, numpy %s", info.Python, info.Numpy)
				if info.Shim {
					e.Versions += " (numpy.dtypes alias added)"
				}
				e.dir = ""
				return probeResult{env: e}
			}
		}
		tried = append(tried, py+": "+lastLine(stderr.String(), err))
	}
	if len(tried) == 0 {
		tried = append(tried, "no python3 found ($SIGOCO_PYTHON, PATH, /usr/bin/python3)")
	}
	where := "with PYTHONPATH=" + path
	if path == "" {
		where = "with no SiPyCo tree on PYTHONPATH"
	}
	return probeResult{reason: skipHint + "; tried " + where + ": " + strings.Join(tried, "; ")}
}

// interpreters lists the candidate python3 binaries, without duplicates.
func interpreters() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p == "" {
			return
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if seen[real] {
				return
			}
			seen[real] = true
		} else {
			return
		}
		out = append(out, p)
	}
	if p := os.Getenv("SIGOCO_PYTHON"); p != "" {
		if lp, err := exec.LookPath(p); err == nil {
			add(lp)
		}
	}
	if lp, err := exec.LookPath("python3"); err == nil {
		add(lp)
	}
	add("/usr/bin/python3")
	return out
}

func lastLine(stderr string, err error) string {
	s := strings.TrimSpace(stderr)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" && err != nil {
		s = err.Error()
	}
	return s
}

// Script returns the path of one of the scripts (e.g. [RPCServer]).
func (e Env) Script(name string) string { return filepath.Join(e.dir, name) }

// Command returns the command that runs script with args under this Env:
// the interpreter, PYTHONPATH, unbuffered UTF-8 output and no bytecode
// files. The caller runs it and owns the process; most tests want Run,
// Start or Serve instead.
func (e Env) Command(ctx context.Context, script string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.Python, append([]string{e.Script(script)}, args...)...)
	env := os.Environ()
	if e.PythonPath != "" {
		pp := e.PythonPath
		if old := os.Getenv("PYTHONPATH"); old != "" {
			pp += string(os.PathListSeparator) + old
		}
		env = append(env, "PYTHONPATH="+pp)
	}
	cmd.Env = append(env, "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "PYTHONIOENCODING=utf-8")
	cmd.WaitDelay = 2 * time.Second // a stray grandchild holding our pipes cannot hang Wait
	return cmd
}

func (e Env) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return DefaultTimeout
}
