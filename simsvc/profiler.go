package simsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/pprof/profile"
)

// profLabel is the pprof label that marks a server's work: every
// lifecycle call, service function and property accessor runs under
// profLabel=Server.id (and so do the goroutines the service starts from
// them), so that a report shows one service even when several share a
// process.
const profLabel = "simsvc"

// profiler is the process's CPU profiler (runtime/pprof allows one), shared
// by the servers of the process: it runs while any holds a reference. A
// snapshot stops it, merges the samples so far and starts it again (the
// gap is a few microseconds).
type profiler struct {
	mu       sync.Mutex // guards every field
	users    int
	running  bool
	buf      bytes.Buffer
	merged   *profile.Profile // the samples of earlier segments
	since    time.Time
	startErr error
}

var procProfiler profiler

var errProfilerOff = errors.New("simsvc: the profiler is off (Options.DisableProfiler)")

func (p *profiler) acquire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users++
	if p.users == 1 {
		p.merged, p.since = nil, time.Now()
		p.startLocked()
	}
}

func (p *profiler) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users--
	if p.users == 0 && p.running {
		pprof.StopCPUProfile()
		p.running = false
		p.buf.Reset()
		p.merged = nil
	}
}

func (p *profiler) startLocked() {
	p.buf.Reset()
	p.startErr = pprof.StartCPUProfile(&p.buf)
	p.running = p.startErr == nil
}

// snapshot returns every sample since the first acquire.
func (p *profiler) snapshot() (*profile.Profile, time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.users == 0 {
		return nil, time.Time{}, errProfilerOff
	}
	if p.running {
		pprof.StopCPUProfile()
		p.running = false
		seg, err := profile.Parse(bytes.NewReader(p.buf.Bytes()))
		if err == nil {
			if p.merged == nil {
				p.merged = seg
			} else if m, err2 := profile.Merge([]*profile.Profile{p.merged, seg}); err2 == nil {
				p.merged = m
			}
		}
		p.startLocked()
	} else if p.startErr != nil {
		p.startLocked() // someone else's profile may have ended
	}
	if p.merged == nil {
		if p.startErr != nil {
			return nil, p.since, fmt.Errorf("simsvc: CPU profiling unavailable: %w", p.startErr)
		}
		return &profile.Profile{}, p.since, nil
	}
	return p.merged.Copy(), p.since, nil
}

// Profile returns the CPU profile of the process since the server
// started (pprof's protobuf format, gzipped; `go tool pprof` reads it),
// all services of the process included (their samples carry the label
// "simsvc" with the service's name#serial).
func (s *Server) Profile(ctx context.Context) ([]byte, error) {
	if !s.prof {
		return nil, errProfilerOff
	}
	prof, _, err := procProfiler.snapshot()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := prof.Write(&b); err != nil {
		return nil, fmt.Errorf("simsvc: writing the profile: %w", err)
	}
	return b.Bytes(), nil
}

// ProfilerReport returns a text report of where this service spent CPU
// since it was served: the sampled CPU time of its calls, then the top
// functions by flat time (in the function itself) and by cumulative time
// (with what it called).
func (s *Server) ProfilerReport(ctx context.Context) (string, error) {
	if !s.prof {
		return "", errProfilerOff
	}
	prof, since, err := procProfiler.snapshot()
	if err != nil {
		return "", err
	}
	return report(prof, s.id, s.opts.Name, since, 20), nil
}

// storeProfile gives the recorder the report and the raw profile.
func (s *Server) storeProfile() {
	r := s.opts.Recorder
	if rep, err := s.ProfilerReport(s.ctx); err == nil {
		if err := r.LogArtifactReader("profiler_report.txt", strings.NewReader(rep)); err != nil {
			s.opts.Logger.Warn("simsvc: recorder: profiler report", "err", err)
		}
	}
	if raw, err := s.Profile(s.ctx); err == nil {
		if err := r.LogArtifactReader("cpu.pprof", bytes.NewReader(raw)); err != nil {
			s.opts.Logger.Warn("simsvc: recorder: profile", "err", err)
		}
	}
}

// report formats the samples labelled id.
func report(prof *profile.Profile, id, name string, since time.Time, top int) string {
	vi := len(prof.SampleType) - 1 // cpu nanoseconds is the last type of a CPU profile
	for i, st := range prof.SampleType {
		if st.Type == "cpu" {
			vi = i
		}
	}
	flat, cum := map[string]int64{}, map[string]int64{}
	var total, all int64
	for _, smp := range prof.Sample {
		if vi < 0 || vi >= len(smp.Value) {
			continue
		}
		v := smp.Value[vi]
		all += v
		if !hasLabel(smp, id) {
			continue
		}
		total += v
		seen := map[string]bool{}
		for li, loc := range smp.Location {
			for ki, ln := range loc.Line {
				if ln.Function == nil {
					continue
				}
				fn := ln.Function.Name
				if li == 0 && ki == 0 {
					flat[fn] += v
				}
				if !seen[fn] {
					seen[fn] = true
					cum[fn] += v
				}
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CPU profile of service %q since %s (%s ago)\n", name, since.UTC().Format(time.RFC3339), time.Since(since).Round(time.Millisecond))
	fmt.Fprintf(&b, "service CPU: %s sampled, of %s for the whole process\n", time.Duration(total), time.Duration(all))
	table := func(title string, m map[string]int64) {
		type row struct {
			fn string
			v  int64
		}
		rows := make([]row, 0, len(m))
		for fn, v := range m {
			rows = append(rows, row{fn, v})
		}
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].v != rows[j].v {
				return rows[i].v > rows[j].v
			}
			return rows[i].fn < rows[j].fn
		})
		fmt.Fprintf(&b, "\ntop %d by %s time:\n", min(top, len(rows)), title)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\t%s\t\t%s\n", title, "%", "function")
		for i, r := range rows {
			if i == top {
				break
			}
			pct := 0.0
			if total > 0 {
				pct = 100 * float64(r.v) / float64(total)
			}
			fmt.Fprintf(tw, "%s\t%.1f%%\t\t%s\n", time.Duration(r.v).Round(time.Millisecond), pct, r.fn)
		}
		tw.Flush()
	}
	table("flat", flat)
	table("cum", cum)
	return b.String()
}

func hasLabel(smp *profile.Sample, id string) bool {
	for _, v := range smp.Label[profLabel] {
		if v == id {
			return true
		}
	}
	return false
}
