package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	originalsDir = "originals"
	tmpDir       = "tmp"

	// tmpPrefix marks the files this package writes into tmp/, so that the
	// sweep at Open removes nothing it did not create.
	tmpPrefix = "up-"

	// staleAfter is how old a temporary file must be before Open removes it.
	// An upload in flight is bounded by the request timeout (seconds), so an
	// hour-old file can only be left from a crash; the margin also covers
	// another process sharing the directory during a rolling restart.
	staleAfter = time.Hour

	dirPerm  = 0o755
	filePerm = 0o644 // Nginx, running as another user, serves originals directly.
)

// FS is the content-addressed store of originals on the local file system.
// It is safe for concurrent use.
type FS struct {
	root *os.Root
	abs  string // absolute path of the data directory, for TempPath
}

// Open opens the store in cfg.Dir, creating it, originals/ and tmp/ when
// missing, and removes temporary files older than an hour that a crash left
// behind. A store on a read-only file system opens (it can still serve
// originals); Writable reports the problem.
func Open(cfg Config) (*FS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(abs, dirPerm); err != nil {
		return nil, writeErr(err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{originalsDir, tmpDir} {
		if err := root.MkdirAll(d, dirPerm); err != nil {
			root.Close()
			return nil, writeErr(err)
		}
	}
	s := &FS{root: root, abs: abs}
	s.sweepTmp(time.Now().Add(-staleAfter))
	return s, nil
}

// sweepTmp removes our temporary files last modified before cutoff. It is
// best effort: a file it cannot remove now is tried again at the next Open.
func (s *FS) sweepTmp(cutoff time.Time) {
	d, err := s.root.Open(tmpDir)
	if err != nil {
		return
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(256)
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), tmpPrefix) || !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if err != nil || !info.ModTime().Before(cutoff) {
				continue
			}
			s.root.Remove(tmpDir + "/" + e.Name())
		}
		if err != nil { // io.EOF at the end, or a read error: stop either way
			return
		}
	}
}

// Close releases the directory handle. Uploads still open fail afterwards.
func (s *FS) Close() error {
	return s.root.Close()
}

// Open opens the original for key for reading.
func (s *FS) Open(key string) (*os.File, error) {
	if !ValidKey(key) {
		return nil, ErrInvalidKey
	}
	f, err := s.root.Open(relPath(key))
	if err != nil {
		return nil, readErr(err)
	}
	// A directory (or device) under a key's name is not an original; the
	// check is an fstat on the open descriptor, so it cannot race.
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, ErrNotFound
	}
	return f, nil
}

// ReadFile returns the whole original for key.
func (s *FS) ReadFile(key string) ([]byte, error) {
	f, err := s.Open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Stat returns the size and modification time of the original for key.
func (s *FS) Stat(key string) (size int64, modTime time.Time, err error) {
	if !ValidKey(key) {
		return 0, time.Time{}, ErrInvalidKey
	}
	info, err := s.root.Stat(relPath(key))
	if err != nil {
		return 0, time.Time{}, readErr(err)
	}
	if !info.Mode().IsRegular() {
		return 0, time.Time{}, ErrNotFound
	}
	return info.Size(), info.ModTime(), nil
}

// Delete removes the original for key. Shard directories are left in place:
// removing an empty one could race with a Commit that just created it.
func (s *FS) Delete(key string) error {
	if !ValidKey(key) {
		return ErrInvalidKey
	}
	if err := s.root.Remove(relPath(key)); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errEscapes) {
			return ErrNotFound
		}
		return writeErr(err)
	}
	return nil
}

// RelPath returns the path of key's original relative to the data
// directory, with forward slashes, e.g. "originals/3f/9a/<key>". It does not
// check that the original exists.
func (s *FS) RelPath(key string) (string, error) {
	if !ValidKey(key) {
		return "", ErrInvalidKey
	}
	return relPath(key), nil
}

// Writable is the readiness probe: it creates, writes and removes a small
// file in tmp/, and returns ErrReadOnly (wrapping the cause) when the file
// system refuses.
func (s *FS) Writable() error {
	name := tmpDir + "/" + tmpPrefix + "probe-" + randomName()
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return writeErr(err)
	}
	_, werr := f.Write([]byte{0})
	cerr := f.Close()
	rerr := s.root.Remove(name)
	return writeErr(errors.Join(werr, cerr, rerr))
}

// randomName returns 16 random hex digits for a temporary file name.
func randomName() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Exists reports whether key's original is stored.
func (s *FS) Exists(key string) (bool, error) {
	_, _, err := s.Stat(key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// Ready is Writable: what /readyz shows for the store.
func (s *FS) Ready() error { return s.Writable() }
