package store

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/pictorhq/pictor/internal/keys"
)

// HeadLen is how many leading bytes Head keeps: enough for the magic-byte
// sniffer (transform/format.SniffLen).
const HeadLen = 64

// Upload is an original being written. Bytes stream into a temporary file
// while their SHA-256 is computed; nothing is held whole in memory. Finish
// it with Commit or Abort; `defer u.Abort()` right after NewUpload is the
// idiom, since Abort after Commit does nothing.
//
// An Upload is not safe for concurrent use.
type Upload struct {
	s     *FS
	place placer // where Commit puts it: s.place for FS, the bucket for S3
	f     *os.File
	name  string // relative to the root: tmp/up-…
	h     hash.Hash
	max   int64
	n     int64
	head  [HeadLen]byte
	headN int
	over  bool // the limit was hit; nothing more is written
	done  bool // committed or aborted
}

// placer gives the finished temporary file tmp (relative to the FS root)
// the name of key's original, reporting whether the original is new. It
// must leave tmp in place: Commit removes it afterwards.
type placer func(tmp, key string) (created bool, err error)

// NewUpload starts an upload of at most maxBytes bytes; maxBytes <= 0 means
// no limit.
func (s *FS) NewUpload(maxBytes int64) (*Upload, error) {
	return s.newUpload(maxBytes, s.place)
}

func (s *FS) newUpload(maxBytes int64, place placer) (*Upload, error) {
	name := tmpDir + "/" + tmpPrefix + randomName()
	f, err := s.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, writeErr(err)
	}
	return &Upload{s: s, place: place, f: f, name: name, h: sha256.New(), max: maxBytes}, nil
}

// Write appends p. Once the total would pass the limit it writes nothing
// of p, returns ErrTooLarge, and every later Write does the same; the
// upload can then only be aborted.
func (u *Upload) Write(p []byte) (int, error) {
	if u.done {
		return 0, ErrClosed
	}
	if u.over {
		return 0, ErrTooLarge
	}
	if u.max > 0 && int64(len(p)) > u.max-u.n {
		u.over = true
		return 0, ErrTooLarge
	}
	n, err := u.f.Write(p)
	u.h.Write(p[:n])
	if u.headN < HeadLen {
		u.headN += copy(u.head[u.headN:], p[:n])
	}
	u.n += int64(n)
	return n, writeErr(err)
}

// copyBufs holds the buffers ReadFrom reads into; 32 KiB matches io.Copy.
var copyBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// ReadFrom writes everything r yields until io.EOF, with Write's limit. It
// reads at most one buffer past the limit before returning ErrTooLarge.
func (u *Upload) ReadFrom(r io.Reader) (int64, error) {
	buf := copyBufs.Get().(*[32 << 10]byte)
	defer copyBufs.Put(buf)
	var total int64
	for {
		nr, rerr := r.Read(buf[:])
		if nr > 0 {
			nw, werr := u.Write(buf[:nr])
			total += int64(nw)
			if werr != nil {
				return total, werr
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// Size is the number of bytes written so far.
func (u *Upload) Size() int64 { return u.n }

// Head returns the first HeadLen bytes written (fewer if the upload is
// shorter), for sniffing the format without reading the file back. The
// slice aliases the Upload's own buffer; do not modify it.
func (u *Upload) Head() []byte { return u.head[:u.headN] }

// TempPath is the absolute path of the temporary file, so that a decoder can
// probe the header by path before the upload is committed. Everything
// written is already in the file (there is no write buffer).
func (u *Upload) TempPath() string {
	return filepath.Join(u.s.abs, filepath.FromSlash(u.name))
}

// Object describes a committed original.
type Object struct {
	Key     string // content address, e.g. "3f9a0c…e1.jpg"
	Size    int64  // bytes
	Created bool   // false when an original with the same bytes was already stored
}

// Commit makes the upload an original with extension ext ("jpg", "png",
// "webp", "gif" or "avif") and returns its key. The file is fsynced and then
// hard-linked into its shard, which is atomic and, unlike rename, refuses to
// replace an existing name: of any number of concurrent uploads of the same
// bytes exactly one reports Created, and the others drop their temporary
// file. The Upload is finished afterwards whatever the outcome, and the
// temporary file is gone.
func (u *Upload) Commit(ext string) (Object, error) {
	if u.done {
		return Object{}, ErrClosed
	}
	if u.over {
		u.Abort()
		return Object{}, ErrTooLarge
	}
	if !keys.ValidExt(ext) {
		u.Abort()
		return Object{}, ErrInvalidKey
	}
	if err := u.finish(); err != nil {
		return Object{}, err
	}
	key := makeKey(u.h.Sum(nil), ext)
	created, err := u.place(u.name, key)
	u.Abort() // drops the temporary name; the original keeps its own link
	if err != nil {
		return Object{}, err
	}
	return Object{Key: key, Size: u.n, Created: created}, nil
}

// finish makes everything written durable and closes the file, aborting
// the upload when that fails.
func (u *Upload) finish() error {
	// The data must be on disk before the name that promises it is: after a
	// crash, a key must never point at a short file.
	if err := u.f.Sync(); err != nil {
		u.Abort()
		return writeErr(err)
	}
	if err := u.f.Close(); err != nil {
		u.f = nil
		u.Abort()
		return writeErr(err)
	}
	u.f = nil
	return nil
}

// commitAs places a copy fetched from a bucket under key on the local file
// system, after checking that its bytes hash to key: a torn or altered
// download is dropped, never named. Like Commit it finishes the upload.
func (u *Upload) commitAs(key string) (created bool, err error) {
	if u.done {
		return false, ErrClosed
	}
	if u.over {
		u.Abort()
		return false, ErrTooLarge
	}
	if !digestMatches(key, u.h.Sum(nil)) {
		u.Abort()
		return false, ErrCorrupt
	}
	if err := u.finish(); err != nil {
		return false, err
	}
	created, err = u.s.place(u.name, key)
	u.Abort()
	return created, err
}

// place gives the temporary file tmp the name of key's original, reporting
// whether it was new.
func (s *FS) place(tmp, key string) (created bool, err error) {
	dir := shardDir(key)
	if err := s.root.MkdirAll(dir, dirPerm); err != nil {
		return false, writeErr(err)
	}
	final := relPath(key)
	err = s.root.Link(tmp, final)
	switch {
	case err == nil:
		created = true
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case linkUnsupported(err):
		// Some file systems (FAT, some FUSE and network mounts) have no hard
		// links. Rename is atomic too but replaces silently, so two racing
		// first uploads may both report Created; the bytes are identical, so
		// only the flag is off.
		if _, serr := s.root.Lstat(final); serr == nil {
			return false, nil
		}
		if err := s.root.Rename(tmp, final); err != nil {
			return false, writeErr(err)
		}
		created = true
	default:
		return false, writeErr(err)
	}
	// Make the new directory entry durable too. Failing here does not undo
	// the commit: the data is synced and the name is visible.
	if d, err := s.root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return created, nil
}

// linkUnsupported reports whether a link error may mean the file system has
// no hard links. Linux answers EPERM for that on FAT, which is also what an
// immutable directory answers; the rename that follows then fails the same
// way and is reported as ErrReadOnly.
func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) ||
		errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EXDEV)
}

// Abort discards the upload and its temporary file. It is a no-op on a
// finished Upload.
func (u *Upload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	var cerr error
	if u.f != nil {
		cerr = u.f.Close()
		u.f = nil
	}
	if err := u.s.root.Remove(u.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return cerr
}
