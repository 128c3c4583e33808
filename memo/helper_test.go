package memo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// helperMain is a child process of the cross-process tests; MEMO_DIR is
// the shared directory.
func helperMain(role string) int {
	dir := os.Getenv("MEMO_DIR")
	st, err := OpenDir(filepath.Join(dir, "store"), DirOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	if role == "track" {
		// As "compute", over the tracking server at MEMO_ADDR.
		ts, err := OpenTrack(ctx, os.Getenv("MEMO_ADDR"), TrackOptions{Project: "p"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer ts.Close()
		c := New(Options{Storage: ts})
		f := Func1(c, "slow", func(ctx context.Context, a int) (string, error) {
			appendFile(filepath.Join(dir, "count"), "x")
			os.WriteFile(filepath.Join(dir, "started"), nil, 0o644)
			for !exists(filepath.Join(dir, "release")) {
				time.Sleep(5 * time.Millisecond)
			}
			return fmt.Sprintf("value from pid %d", os.Getpid()), nil
		})
		v, err := f(ctx, 1)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Print(v)
		return 0
	}
	switch role {
	case "compute":
		// Compute slow(1): append to "count", say "started", wait for
		// "release", print the value.
		c := New(Options{Storage: st})
		f := Func1(c, "slow", func(ctx context.Context, a int) (string, error) {
			appendFile(filepath.Join(dir, "count"), "x")
			os.WriteFile(filepath.Join(dir, "started"), nil, 0o644)
			for !exists(filepath.Join(dir, "release")) {
				time.Sleep(5 * time.Millisecond)
			}
			return fmt.Sprintf("value from pid %d", os.Getpid()), nil
		})
		v, err := f(ctx, 1)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Print(v)
	case "hold":
		// Take the lock of slow(1), say so, and wait to be killed.
		if _, err := st.Lock(ctx, Key{"slow", "1"}); err != nil {
			return 1
		}
		os.WriteFile(filepath.Join(dir, "locked"), nil, 0o644)
		time.Sleep(time.Hour)
	case "write":
		// Overwrite big(1) forever, counting the writes, until killed.
		c := New(Options{Storage: st, MaxMemory: -1})
		for i := 0; ; i++ {
			v := make([]float64, 1<<20)
			for j := range v {
				v[j] = float64(i)
			}
			if _, err := c.opts.Storage.Load(ctx, Key{"big", "1"}); err != nil && i > 0 {
				fmt.Fprintln(os.Stderr, err)
			}
			if err := st.Save(ctx, &Entry{Key: Key{"big", "1"}, Value: v, Computed: time.Now()}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			os.WriteFile(filepath.Join(dir, "written"), []byte(fmt.Sprint(i)), 0o644)
		}
	}
	return 0
}

func appendFile(path, s string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		f.WriteString(s)
		f.Close()
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }
