package jobs

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// The files in a job's log zip.
const (
	ZipStdout = "stdout.log" // the solver's stdout, as written
	ZipStderr = "stderr.log" // its stderr, as written
	ZipRunLog = "run.log"    // the run's log records (stdout and stderr lines, and what a track client logged), one per line
	ZipJob    = "job.json"   // the job record
)

// WriteLogZip writes a job's log file, a zip of stdout.log, stderr.log,
// run.log and job.json, to w.
func (m *Manager) WriteLogZip(ctx context.Context, id string, w io.Writer) error {
	j, err := m.inspect(ctx, id)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, name := range []string{stdoutFile, stderrFile} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Now()})
		if err != nil {
			return err
		}
		f, err := m.openJobFile(id, name)
		if errors.Is(err, os.ErrNotExist) {
			continue // never ran
		}
		if err != nil {
			return err
		}
		_, err = io.Copy(fw, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: ZipRunLog, Method: zip.Deflate, Modified: time.Now()})
	if err != nil {
		return err
	}
	q := store.LogQuery{Run: id, MinLevel: -8, Limit: 10000}
	for {
		page, err := m.st.Logs(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page.Logs {
			fmt.Fprintln(fw, formatLog(&e))
		}
		if page.Next == 0 || len(page.Logs) == 0 {
			break
		}
		q.After = page.Next
	}
	fw, err = zw.CreateHeader(&zip.FileHeader{Name: ZipJob, Method: zip.Deflate, Modified: time.Now()})
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(j, "", "  ")
	if _, err := fw.Write(b); err != nil {
		return err
	}
	return zw.Close()
}

// formatLog is one line of run.log: time, level, logger, message, attrs.
func formatLog(e *store.LogEntry) string {
	var b strings.Builder
	b.WriteString(time.Unix(0, e.Time.UnixNano()).UTC().Format(time.RFC3339Nano))
	b.WriteByte(' ')
	b.WriteString(slog.Level(e.Level).String())
	if e.Logger != "" {
		b.WriteString(" [" + e.Logger + "]")
	}
	b.WriteByte(' ')
	b.WriteString(strings.ReplaceAll(e.Message, "\n", "\\n"))
	keys := make([]string, 0, len(e.Attrs))
	for k := range e.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, e.Attrs[k])
	}
	return b.String()
}

// limitedBuffer fails once more than max bytes are written.
type limitedBuffer struct {
	bytes.Buffer
	max int64
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if int64(l.Len()+len(p)) > l.max {
		return 0, fmt.Errorf("jobs: the log file is over %d bytes (MaxLogZip); download it over HTTP", l.max)
	}
	return l.Buffer.Write(p)
}
