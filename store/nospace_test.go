package store

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

func TestWriteErrNoSpace(t *testing.T) {
	for _, tt := range []struct {
		err     error
		noSpace bool
	}{
		{&fs.PathError{Op: "write", Path: "tmp/up-x", Err: syscall.ENOSPC}, true},
		{&fs.PathError{Op: "write", Path: "tmp/up-x", Err: syscall.EDQUOT}, true},
		{&fs.PathError{Op: "mkdirat", Path: "originals/3f", Err: syscall.ENOSPC}, true},
		{&os.LinkError{Op: "linkat", Old: "a", New: "b", Err: syscall.ENOSPC}, true},
		{&fs.PathError{Op: "openat", Path: "tmp/up-x", Err: syscall.EROFS}, false},
		{&fs.PathError{Op: "write", Path: "tmp/up-x", Err: syscall.EIO}, false},
	} {
		got := writeErr(tt.err)
		if errors.Is(got, ErrNoSpace) != tt.noSpace {
			t.Errorf("writeErr(%v) = %v, want ErrNoSpace: %v", tt.err, got, tt.noSpace)
		}
		if tt.noSpace && errors.Is(got, ErrReadOnly) {
			t.Errorf("writeErr(%v) = %v is both full and read-only", tt.err, got)
		}
		if !errors.Is(got, tt.err) {
			t.Errorf("writeErr(%v) = %v, which no longer wraps the cause", tt.err, got)
		}
	}
}

// TestNoSpace fills a real 64 KiB tmpfs: an upload that does not fit
// fails with ErrNoSpace and leaves nothing behind, what was stored before
// still reads back, and the readiness probe says the store is full.
func TestNoSpace(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a 64 KiB tmpfs here (needs root with CAP_SYS_ADMIN; make test as root on the dev machine and CI runs it, and TestWriteErrNoSpace covers the mapping); mount: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	small := bytes.Repeat([]byte("stored before the disk filled "), 100)
	obj := put(t, s, small, "jpg")

	u, err := s.NewUpload(0)
	if err != nil {
		t.Fatalf("NewUpload = %v", err)
	}
	big := make([]byte, 128<<10) // twice the file system
	_, werr := u.ReadFrom(bytes.NewReader(big))
	if !errors.Is(werr, ErrNoSpace) || !errors.Is(werr, syscall.ENOSPC) {
		t.Errorf("writing 128 KiB into a 64 KiB file system = %v, want ErrNoSpace wrapping ENOSPC", werr)
	}
	if err := u.Abort(); err != nil {
		t.Errorf("Abort = %v", err)
	}
	if got := files(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %q after a refused upload, want nothing", got)
	}
	if got := files(t, dir, "originals"); len(got) != 1 {
		t.Errorf("originals/ holds %q, want only the first upload", got)
	}
	if got, err := s.ReadFile(obj.Key); err != nil || !bytes.Equal(got, small) {
		t.Errorf("ReadFile after the disk filled = %d bytes, %v; want the original", len(got), err)
	}

	// Fill what is left, so that even the one-byte probe cannot land.
	fill, err := os.Create(dir + "/filler")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := fill.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	fill.Close()
	if err := s.Writable(); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Writable() on a full file system = %v, want ErrNoSpace", err)
	}
}
