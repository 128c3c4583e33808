//go:build unix

package track

import (
	"runtime"
	"syscall"
)

func addRusage(m map[string]any) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return
	}
	m["end.cpu.user_seconds"] = float64(ru.Utime.Sec) + float64(ru.Utime.Usec)/1e6
	m["end.cpu.system_seconds"] = float64(ru.Stime.Sec) + float64(ru.Stime.Usec)/1e6
	rss := int64(ru.Maxrss)
	if runtime.GOOS != "darwin" {
		rss *= 1024 // kilobytes on Linux and the BSDs
	}
	m["end.rss.peak_bytes"] = rss
}
