package track

import (
	"os"
	"os/user"
	"runtime"
	"runtime/debug"
	"time"
)

// startMetadata is what Start records about the program and machine.
func startMetadata() map[string]any {
	m := map[string]any{
		"go.version": runtime.Version(),
		"os":         runtime.GOOS,
		"arch":       runtime.GOARCH,
		"cpus":       int64(runtime.NumCPU()),
		"args":       append([]string(nil), os.Args...),
		"pid":        int64(os.Getpid()),
	}
	if h, err := os.Hostname(); err == nil {
		m["host"] = h
	}
	if u, err := user.Current(); err == nil {
		m["user"] = u.Username
	}
	if wd, err := os.Getwd(); err == nil {
		m["wd"] = wd
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		m["module.path"] = bi.Main.Path
		m["module.version"] = bi.Main.Version
		deps := make([]string, 0, len(bi.Deps))
		for _, d := range bi.Deps {
			deps = append(deps, d.Path+"@"+d.Version)
		}
		m["module.deps"] = deps
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified", "vcs":
				m[s.Key] = s.Value
			}
		}
	}
	return m
}

// endStats is what End records about the run's resource use.
func endStats(t0 time.Time) map[string]any {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := map[string]any{
		"end.wall_seconds":     time.Since(t0).Seconds(),
		"end.gc.count":         int64(ms.NumGC),
		"end.gc.pause_seconds": float64(ms.PauseTotalNs) / 1e9,
		"end.heap.peak_bytes":  int64(ms.HeapSys),
	}
	addRusage(m)
	return m
}
