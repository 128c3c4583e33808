package track

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os/exec"
	"strconv"
	"time"
)

// GPU metrics: where nvidia-smi is found on PATH at Start (or
// Options.GPUCommand names one), each system-metrics sample also asks it
// for every GPU's state and logs, per GPU index i,
//
//	sys.gpu<i>.util_percent     utilization.gpu: % of time a kernel ran
//	sys.gpu<i>.mem_used_bytes   memory.used (reported in MiB)
//	sys.gpu<i>.mem_total_bytes  memory.total (reported in MiB)
//	sys.gpu<i>.temp_celsius     temperature.gpu
//	sys.gpu<i>.power_watts      power.draw
//
// A field the GPU does not report ("[N/A]", "[Not Supported]") is left
// out of that sample. nvidia-smi hangs on a wedged driver, so a query is
// killed (with anything it started) after gpuTimeout (5 s) or when the
// run ends, and after gpuMaxFailures
// failed queries in a row the run stops asking and logs one warning. It
// runs in the sampler's goroutine: a slow query delays that sample, never
// the simulation.

const (
	gpuMaxGPUs     = 64       // GPUs read from one query; more are ignored
	gpuMaxOutput   = 64 << 10 // bytes of nvidia-smi output read (64 GPUs take ~4 KiB)
	gpuMaxStderr   = 512      // bytes of its stderr kept for the warning
	gpuMaxFailures = 3        // failed queries in a row before the run stops asking
)

// gpuTimeout bounds one query (tests shorten or lengthen it).
var gpuTimeout = 5 * time.Second

// gpuArgs is the query: the fields gpuFields name, in their order, after
// the GPU's index.
var gpuArgs = []string{"--query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw", "--format=csv,noheader,nounits"}

// gpuFields are the series of the query's fields after the index, with
// the factor to their unit.
var gpuFields = [...]struct {
	name  string
	scale float64
}{
	{"util_percent", 1},
	{"mem_used_bytes", 1 << 20},
	{"mem_total_bytes", 1 << 20},
	{"temp_celsius", 1},
	{"power_watts", 1},
}

// gpuSampler queries nvidia-smi for one run's sampler (used by its
// goroutine only).
type gpuSampler struct {
	path    string
	timeout time.Duration
	log     *slog.Logger
	fails   int
	out     cappedBuffer
	stderr  cappedBuffer
}

// newGPUSampler returns the GPU sampler the options ask for, or nil: off,
// or no nvidia-smi on PATH (looked up once, here).
func newGPUSampler(o *Options) *gpuSampler {
	if o.NoGPUMetrics {
		return nil
	}
	path := o.GPUCommand
	if path == "" {
		p, err := exec.LookPath("nvidia-smi")
		if err != nil {
			return nil // no NVIDIA driver here: no GPU series, nothing to say
		}
		path = p
	}
	return &gpuSampler{
		path:    path,
		timeout: gpuTimeout,
		log:     o.Logger,
		out:     cappedBuffer{max: gpuMaxOutput},
		stderr:  cappedBuffer{max: gpuMaxStderr},
	}
}

// sample adds the GPUs' values to a sample; ctx ends when the sampler
// stops. After gpuMaxFailures failures in a row it does nothing.
func (g *gpuSampler) sample(ctx context.Context, into map[string]any) {
	if g == nil || g.fails >= gpuMaxFailures {
		return
	}
	vals, err := g.query(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return // the run is ending: not nvidia-smi's failure
		}
		g.fails++
		if g.fails == gpuMaxFailures {
			g.log.Warn("track: GPU metrics off for this run: nvidia-smi failed repeatedly", "command", g.path, "failures", g.fails, "err", err)
		}
		return
	}
	g.fails = 0
	for k, v := range vals {
		into[k] = v
	}
}

// query runs nvidia-smi once, bounded in time and output.
func (g *gpuSampler) query(ctx context.Context) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	g.out.reset()
	g.stderr.reset()
	cmd := exec.CommandContext(ctx, g.path, gpuArgs...)
	cmd.Stdout, cmd.Stderr = &g.out, &g.stderr
	killGroupOnCancel(cmd) // nvidia-smi behind a wrapper script dies with it
	// A child that keeps the pipes open after the kill must not hold Wait.
	cmd.WaitDelay = 100 * time.Millisecond
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return nil, fmt.Errorf("track: nvidia-smi did not answer within %v", g.timeout)
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		if msg := bytes.TrimSpace(g.stderr.b); len(msg) > 0 {
			return nil, fmt.Errorf("track: nvidia-smi: %w: %s", err, msg)
		}
		return nil, fmt.Errorf("track: nvidia-smi: %w", err)
	}
	vals := parseNvidiaSMI(g.out.b)
	if len(vals) == 0 {
		return nil, errors.New("track: nvidia-smi reported no GPU values")
	}
	return vals, nil
}

// parseNvidiaSMI reads gpuArgs' output: one line per GPU, "index, util,
// mem used, mem total, temperature, power". A line of another shape, an
// index outside [0, gpuMaxGPUs) or seen before, is ignored; so is a field
// that is not a finite number ("[N/A]", "[Not Supported]"). At most
// gpuMaxGPUs GPUs are read.
func parseNvidiaSMI(out []byte) map[string]float64 {
	vals := map[string]float64{}
	var seen [gpuMaxGPUs]bool
	gpus := 0
	for line := range bytes.Lines(out) {
		if gpus == gpuMaxGPUs {
			break
		}
		var f [1 + len(gpuFields)][]byte
		n := 0
		for field := range bytes.SplitSeq(line, []byte(",")) {
			if n == len(f) {
				n++ // too many fields
				break
			}
			f[n] = bytes.TrimSpace(field)
			n++
		}
		if n != len(f) {
			continue
		}
		i, err := strconv.Atoi(string(f[0]))
		if err != nil || i < 0 || i >= gpuMaxGPUs || seen[i] {
			continue
		}
		seen[i] = true
		gpus++
		prefix := "sys.gpu" + strconv.Itoa(i) + "."
		for j, field := range gpuFields {
			v, err := strconv.ParseFloat(string(f[1+j]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			vals[prefix+field.name] = v * field.scale
		}
	}
	return vals
}

// cappedBuffer keeps the first max bytes written to it and discards the
// rest (a process's output, read without bound on what it prints).
type cappedBuffer struct {
	b   []byte
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *cappedBuffer) reset() { c.b = c.b[:0] }
