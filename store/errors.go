package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	// ErrNoSpace wraps the error of a write that found the file system
	// full (ENOSPC) or the owner's quota spent (EDQUOT). Like ErrReadOnly
	// it is the store's condition, not the request's, and the server
	// answers 503; the upload's temporary file is removed by Abort.
	ErrNoSpace = errors.New("store: no space left")
	// ErrClosed is returned by an Upload used after Commit or Abort.
	ErrClosed = errors.New("store: upload already finished")
)

// writeErr maps the error of a create, write, sync, link or rename: the
// errno values that mean "this file system will not take writes" become
// ErrReadOnly, those that mean "it is full" ErrNoSpace (each still wrapping
// the original, so errors.Is finds both), and everything else passes
// through. EPERM is included because that is what an immutable directory
// (chattr +i) or a security module answers.
func writeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// readErr maps the error of an open or stat of an original. ENOTDIR means a
// shard path component is not a directory, and errEscapes that a symlink
// planted in the store (the store makes none) leads out of the data
// directory, where os.Root will not follow it; for a reader both are the
// same as absent.
func readErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, errEscapes) {
		return ErrNotFound
	}
	return err
}

// errEscapes is the error os.Root gives for a name that would lead out of
// the root. os does not export it, so it is taken once from the one name
// that always escapes.
var errEscapes = func() error {
	root, err := os.OpenRoot("/")
	if err != nil {
		return nil
	}
	defer root.Close()
	_, err = root.Open("..")
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return nil
	}
	return pe.Err
}()

var (
	// ErrUnavailable wraps an error of the object store that is its
	// condition, not the request's: it is down, slow past the deadline, or
	// refuses our credentials. The server answers 503; the cause is kept,
	// with any credential removed from its text.
	ErrUnavailable = errors.New("store: object store unavailable")
	// ErrCorrupt is returned when the bytes fetched for a key do not hash
	// to it, twice in a row: the copy is dropped, never decoded.
	ErrCorrupt = errors.New("store: fetched original does not match its key")
)
