package jobs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigoco/sigoco/track/store"
)

// Paths. A job's id is its run's id, and runs are named by clients: an id
// reaches the filesystem only once store.CheckRunID accepted it, and only
// through jobPath, which also checks that the joined path stays under
// Options.Dir. The files a solver leaves are read through an os.Root at
// the work directory, without following links (openOutput).

// Errors of the path rules.
var (
	// ErrBadJobID: an id that cannot be a job's (store.CheckRunID refuses
	// it). The error also wraps the *store.RunIDError saying why.
	ErrBadJobID = errors.New("jobs: bad job id")
	// ErrOutsideDir: a path that would leave its directory.
	ErrOutsideDir = errors.New("jobs: path outside its directory")
	// ErrOutputLink: a solver's output (a file output or outputs.json) is,
	// or lies under, a symbolic link; such outputs are refused, and the
	// job FAILED with the reason.
	ErrOutputLink = errors.New("jobs: output is a symbolic link")
)

// errNotRegular: an output that is a directory, FIFO or device (treated
// as not written).
var errNotRegular = errors.New("jobs: not a regular file")

// checkJobID returns an error wrapping ErrBadJobID and the
// *store.RunIDError when id is not a valid run id.
func checkJobID(id string) error {
	if err := store.CheckRunID(id); err != nil {
		return fmt.Errorf("%w: %w", ErrBadJobID, err)
	}
	return nil
}

// jobPath is the one way to a job's directory (no elem) or a path in it:
// the id is checked, and so is the joined path.
func (m *Manager) jobPath(id string, elem ...string) (string, error) {
	if err := checkJobID(id); err != nil {
		return "", err
	}
	return under(m.opts.Dir, append([]string{id}, elem...)...)
}

// under joins elem to root and checks that the result lies strictly under
// root (lexically, as filepath.Join cleans it).
func under(root string, elem ...string) (string, error) {
	p := filepath.Join(append([]string{root}, elem...)...)
	rel, err := filepath.Rel(filepath.Clean(root), p)
	if err != nil || rel == "." || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%w: %q is not under %s", ErrOutsideDir, filepath.Join(elem...), root)
	}
	return p, nil
}

// openWork opens a job's work directory as an os.Root; the directory
// itself must not be a link.
func (m *Manager) openWork(id string) (*os.Root, error) {
	work, err := m.jobPath(id, workDirName)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(work)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return nil, fmt.Errorf("%w: the work directory %s is not a directory", ErrOutputLink, work)
	}
	return os.OpenRoot(work)
}

// openOutput opens the regular file name (a local path, as a solver names
// it) in root without following links: no component of name may be a
// symbolic link, the root refuses anything that would leave it (should a
// process the solver left behind swap a component meanwhile), and the
// file opened must be the file checked. A FIFO or device is refused too
// (opened non-blocking, so a swap cannot hang the manager).
func openOutput(root *os.Root, name string) (*os.File, error) {
	if !filepath.IsLocal(name) {
		return nil, fmt.Errorf("%w: %q", ErrOutsideDir, name)
	}
	parts := strings.Split(filepath.Clean(name), string(filepath.Separator))
	var fi fs.FileInfo
	for i := range parts {
		p := filepath.Join(parts[:i+1]...)
		var err error
		if fi, err = root.Lstat(p); err != nil {
			return nil, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			to := ""
			if t, err := root.Readlink(p); err == nil {
				to = fmt.Sprintf(" (to %s)", t)
			}
			return nil, fmt.Errorf("%w: %s is a symbolic link%s; outputs are read without following links", ErrOutputLink, p, to)
		}
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is a %s", errNotRegular, name, fi.Mode().Type())
	}
	f, err := root.OpenFile(name, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	got, err := f.Stat()
	if err != nil || !os.SameFile(fi, got) || !got.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s changed while it was opened", ErrOutputLink, name)
	}
	return f, nil
}

// createJobFile creates (or truncates) a file of the job's directory
// (stdout.log, stderr.log); a link in its place is not followed.
func (m *Manager) createJobFile(id, name string) (*os.File, error) {
	p, err := m.jobPath(id, name)
	if err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|openNoFollow, 0o644)
}

// openJobFile opens a regular file of the job's directory for reading;
// a link in its place is not followed.
func (m *Manager) openJobFile(id, name string) (*os.File, error) {
	p, err := m.jobPath(id, name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|openNoFollow|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s", errNotRegular, p)
	}
	return f, nil
}
