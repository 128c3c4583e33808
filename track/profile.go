package track

import (
	"os"
	"path/filepath"
	"runtime/pprof"
)

// startProfile starts a CPU profile into the run's spool directory.
func (r *Run) startProfile() {
	path := filepath.Join(r.dir, "cpu.pprof.tmp")
	f, err := os.Create(path)
	if err != nil {
		r.fail(err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		os.Remove(path)
		r.fail(err) // another profile is running
		return
	}
	r.profile = f
}

// stopProfile stops the CPU profile and records it as the artifact
// cpu.pprof.
func (r *Run) stopProfile() {
	if r.profile == nil {
		return
	}
	pprof.StopCPUProfile()
	r.profile.Close()
	if f, err := os.Open(r.profile.Name()); err == nil {
		r.LogArtifactReader("cpu.pprof", f)
		f.Close()
	}
	os.Remove(r.profile.Name())
	r.profile = nil
}
