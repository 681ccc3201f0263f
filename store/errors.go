package store

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

var (
	// ErrNotFound is returned for a valid key that has no original.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalidKey is returned, before any file system access, for a key
	// that ValidKey rejects, and by Commit for an unknown extension.
	ErrInvalidKey = errors.New("store: invalid key")
	// ErrTooLarge is returned once an upload goes past its byte limit.
	ErrTooLarge = errors.New("store: upload too large")
	// ErrReadOnly wraps the error of a write the file system refused for
	// lack of permission or because it is mounted read-only, so that the
	// server can answer 503 and readiness can say why.
	ErrReadOnly = errors.New("store: not writable")
	// ErrClosed is returned by an Upload used after Commit or Abort.
	ErrClosed = errors.New("store: upload already finished")
)

// writeErr maps the error of a create, write, link or rename: the errno
// values that mean "this file system will not take writes" become
// ErrReadOnly (still wrapping the original, so errors.Is finds both), and
// everything else passes through. EPERM is included because that is what an
// immutable directory (chattr +i) or a security module answers.
func writeErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	}
	return err
}

// readErr maps the error of an open or stat of an original. ENOTDIR means a
// shard path component is not a directory, which for a reader is the same
// as absent.
func readErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return ErrNotFound
	}
	return err
}
