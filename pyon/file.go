package pyon

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// MaxFileSize bounds what LoadFile reads: 1 GiB.
const MaxFileSize = 1 << 30

// LoadFile reads the PYON text in the file name and decodes it (SiPyCo's
// pyon.load_file), with the default limits of Decode.
func LoadFile(name string) (any, error) {
	return LoadFileWith(name, DecodeOptions{})
}

// LoadFileWith is LoadFile with decoding options.
func LoadFileWith(name string, o DecodeOptions) (any, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("pyon: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("pyon: %w", err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("pyon: %s: %w: the file is over %d bytes", name, ErrLimit, MaxFileSize)
	}
	v, err := DecodeWith(b, o)
	if err != nil {
		return nil, fmt.Errorf("pyon: %s: %w", name, err)
	}
	return v, nil
}

// StoreFile writes v to the file name as pretty PYON text with a final
// newline (SiPyCo's pyon.store_file), atomically: into a temporary file
// in the same directory, synced, then renamed over name, so that a reader
// sees the old content or the new, never a part, and a crash leaves the
// old file. The file keeps the mode of the file it replaces (0644 for a
// new one). On an encoding error nothing is written.
func StoreFile(name string, v any) error {
	b, err := AppendWith(nil, v, EncodeOptions{Pretty: true})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(name); err == nil {
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("pyon: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pyon: storing %s: %w", name, err)
	}
	if d, err := os.Open(filepath.Dir(name)); err == nil { // the rename itself survives a crash
		d.Sync()
		d.Close()
	}
	return nil
}
