package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/sigoco/sigoco/track/store/sqlite"
)

// backupCommand is `trackd backup DEST`: a consistent copy of the SQLite
// store in --data, taken while trackd keeps ingesting. The database is
// copied with VACUUM INTO (one read transaction: a snapshot of the last
// commit), then the artifacts by content address: only the blobs DEST
// lacks, each copied to a temporary name, its sha256 checked and renamed.
// Blobs are copied after the snapshot, so every blob it refers to that was
// complete when it was taken is in DEST. Restoring is starting trackd with
// --data DEST (or copying DEST back into place with trackd stopped).
var backupCommand = &cli.Command{
	Name:      "backup",
	Usage:     "copy the SQLite store in --data to DEST while trackd runs (docs/tracking.md \"Backups\")",
	ArgsUsage: "DEST",
	Action:    backup,
}

type backupStats struct {
	copied, kept int
	bytes        int64
}

func backup(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: trackd backup DEST", 2)
	}
	if u := c.String("store"); isPostgres(u) {
		return cli.Exit("trackd backup: the store is PostgreSQL; back it up with its own tools (pg_dump), and --artifacts with any file copy", 2)
	}
	data, dest := c.String("data"), c.Args().First()
	st, err := backupTo(data, dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "backup of %s in %s: database copied, %d artifacts copied (%d bytes), %d already there\n", data, dest, st.copied, st.bytes, st.kept)
	return nil
}

func backupTo(data, dest string) (backupStats, error) {
	var st backupStats
	src := filepath.Join(data, sqlite.DBName)
	if _, err := os.Stat(src); err != nil {
		return st, fmt.Errorf("no SQLite store in %s: %w", data, err)
	}
	if sameDir(data, dest) {
		return st, cli.Exit("trackd backup: DEST is the data directory", 2)
	}
	if err := os.MkdirAll(filepath.Join(dest, "blobs"), 0o755); err != nil {
		return st, err
	}
	if err := backupDB(src, dest); err != nil {
		return st, err
	}
	return backupBlobs(filepath.Join(data, "blobs"), filepath.Join(dest, "blobs"))
}

func sameDir(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// backupDB writes a snapshot of the database src to DEST/track.db: VACUUM
// INTO a temporary file in DEST, fsynced, then renamed over the old copy.
func backupDB(src, dest string) error {
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	tmp := filepath.Join(dest, sqlite.DBName+".backup-tmp")
	os.Remove(tmp)
	// VACUUM INTO takes a file name, not a parameter: quote it as an SQL
	// string literal (a URI would need escaping too, so use a plain path).
	if _, err := db.Exec("VACUUM INTO '" + strings.ReplaceAll(tmp, "'", "''") + "'"); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("VACUUM INTO %s: %w", tmp, err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	final := filepath.Join(dest, sqlite.DBName)
	// A write-ahead log left by a trackd once started on DEST belongs to the
	// old copy; beside the new one it would corrupt it.
	for _, x := range []string{"-wal", "-shm"} {
		if err := os.Remove(final + x); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(dest)
}

// backupBlobs copies the blobs (blobs/xx/<sha256>) of src that dst lacks.
func backupBlobs(src, dst string) (backupStats, error) {
	var st backupStats
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // a run deleted meanwhile
				return nil
			}
			return err
		}
		if d.IsDir() || !validBlobName(d.Name()) || filepath.Base(filepath.Dir(path)) != d.Name()[:2] {
			return nil
		}
		sha := d.Name()
		to := filepath.Join(dst, sha[:2], sha)
		if _, err := os.Stat(to); err == nil {
			st.kept++
			return nil
		}
		n, err := copyBlob(path, to, sha)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		st.copied++
		st.bytes += n
		return nil
	})
	return st, err
}

func validBlobName(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// copyBlob copies one blob to a temporary name beside to, checks its
// sha256, fsyncs it and renames it into place.
func copyBlob(from, to, sha string) (int64, error) {
	in, err := os.Open(from)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return 0, err
	}
	out, err := os.CreateTemp(filepath.Dir(to), "."+sha[:12]+".*.tmp")
	if err != nil {
		return 0, err
	}
	tmp := out.Name()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != sha {
			err = fmt.Errorf("artifact %s: its content has sha256 %s (damaged in the data directory?)", from, got)
		}
	}
	if err == nil {
		err = os.Rename(tmp, to)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return n, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	f.Sync() // not supported everywhere; the rename is what matters
	return nil
}
