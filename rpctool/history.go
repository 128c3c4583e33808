package main

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The interactive history is a text file, one line per entry, appended to
// as lines are entered so that a crash loses nothing. Problems with it are
// ignored: history is a convenience, never a reason to fail.

const historyKeep = 1000

type history struct {
	path  string
	lines []string
}

// defaultHistoryFile is rpctool/history under $XDG_STATE_HOME, else under
// ~/.local/state (the XDG default) on Unix, else under the user's
// configuration directory (macOS, Windows).
func defaultHistoryFile(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "rpctool", "history")
	}
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" && runtime.GOOS != "ios" && runtime.GOOS != "plan9" {
		if home := getenv("HOME"); home != "" {
			return filepath.Join(home, ".local", "state", "rpctool", "history")
		}
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "rpctool", "history")
	}
	return ""
}

// openHistory loads the last entries of path and trims a file grown well
// past the limit.
func openHistory(path string) *history {
	h := &history{path: path}
	f, err := os.Open(path)
	if err != nil {
		return h
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	total := 0
	for sc.Scan() {
		if line := sc.Text(); strings.TrimSpace(line) != "" {
			h.lines = append(h.lines, line)
			total++
		}
		if len(h.lines) > 2*historyKeep {
			h.lines = append([]string(nil), h.lines[len(h.lines)-historyKeep:]...)
		}
	}
	f.Close()
	if len(h.lines) > historyKeep {
		h.lines = h.lines[len(h.lines)-historyKeep:]
	}
	if total > 2*historyKeep {
		tmp := path + ".tmp"
		if os.WriteFile(tmp, []byte(strings.Join(h.lines, "\n")+"\n"), 0o600) == nil {
			os.Rename(tmp, path)
		}
	}
	return h
}

// add records line unless it repeats the previous entry.
func (h *history) add(line string) {
	if n := len(h.lines); n > 0 && h.lines[n-1] == line {
		return
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > historyKeep {
		h.lines = h.lines[len(h.lines)-historyKeep:]
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	f.WriteString(line + "\n")
	f.Close()
}
