package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func openTestFS(t *testing.T) (*FS, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open(%q) = %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func put(t *testing.T, s *FS, data []byte, ext string) Object {
	t.Helper()
	u, err := s.NewUpload(0)
	if err != nil {
		t.Fatalf("NewUpload = %v", err)
	}
	defer u.Abort()
	if _, err := u.Write(data); err != nil {
		t.Fatalf("Write = %v", err)
	}
	obj, err := u.Commit(ext)
	if err != nil {
		t.Fatalf("Commit(%q) = %v", ext, err)
	}
	return obj
}

// files lists the regular files and symlinks under dir/sub, relative to dir.
func files(t *testing.T, dir, sub string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, sub), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", sub, err)
	}
	return out
}

func wantKey(data []byte, ext string) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) + "." + ext
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
	if got := DefaultConfig().Dir; got != "./data" {
		t.Errorf("DefaultConfig().Dir = %q, want %q", got, "./data")
	}
	if err := (Config{}).Validate(); err == nil {
		t.Error("Config{}.Validate() = nil, want an error")
	}
	if _, err := Open(Config{}); err == nil {
		t.Error("Open(Config{}) = nil error, want one")
	}
}

func TestOpenCreatesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open(%q) = %v", dir, err)
	}
	defer s.Close()
	for _, sub := range []string{"", "originals", "tmp"} {
		info, err := os.Stat(filepath.Join(dir, sub))
		if err != nil || !info.IsDir() {
			t.Errorf("Stat(%q) = %v, %v; want a directory", sub, info, err)
		}
	}
}

func TestKeyFormatAndSharding(t *testing.T) {
	s, dir := openTestFS(t)
	data := []byte("\x89PNG\r\n\x1a\n not really a png, the store does not care")
	obj := put(t, s, data, "png")

	key := wantKey(data, "png")
	if obj.Key != key {
		t.Errorf("Commit key = %q, want %q", obj.Key, key)
	}
	if !keyRE.MatchString(obj.Key) {
		t.Errorf("Commit key %q does not match %v", obj.Key, keyRE)
	}
	if obj.Size != int64(len(data)) || !obj.Created {
		t.Errorf("Commit = %+v, want Size %d, Created true", obj, len(data))
	}

	rel := "originals/" + key[0:2] + "/" + key[2:4] + "/" + key
	if got, err := s.RelPath(key); got != rel || err != nil {
		t.Errorf("RelPath(%q) = %q, %v, want %q, nil", key, got, err, rel)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Errorf("file at %s = %q, %v; want the uploaded bytes", rel, onDisk, err)
	}
	if got := files(t, dir, "originals"); len(got) != 1 || got[0] != rel {
		t.Errorf("originals/ holds %q, want exactly [%q]", got, rel)
	}
	if got := files(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %q after Commit, want nothing", got)
	}

	got, err := s.ReadFile(key)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReadFile(%q) = %q, %v; want the uploaded bytes", key, got, err)
	}
	size, mod, err := s.Stat(key)
	if err != nil || size != int64(len(data)) || time.Since(mod) > time.Minute {
		t.Errorf("Stat(%q) = %d, %v, %v; want %d, about now, nil", key, size, mod, err, len(data))
	}
	info, _ := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
	if perm := info.Mode().Perm(); perm&0o044 != 0o044 {
		t.Errorf("original mode = %v, want readable by group and others (Nginx serves it)", perm)
	}
}

func TestSameBytesSameKey(t *testing.T) {
	s, dir := openTestFS(t)
	data := bytes.Repeat([]byte("pictor"), 1000)
	first := put(t, s, data, "jpg")
	second := put(t, s, data, "jpg")
	if first.Key != second.Key {
		t.Errorf("keys differ for the same bytes: %q, %q", first.Key, second.Key)
	}
	if !first.Created || second.Created {
		t.Errorf("Created = %v, %v; want true, false", first.Created, second.Created)
	}
	if second.Size != int64(len(data)) {
		t.Errorf("second Size = %d, want %d", second.Size, len(data))
	}
	other := put(t, s, data, "png")
	if other.Key == first.Key || !other.Created {
		t.Errorf("same bytes as png = %+v; want a new key with the png extension", other)
	}
	if got := files(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want nothing", got)
	}
}

func TestConcurrentSameBytes(t *testing.T) {
	s, dir := openTestFS(t)
	data := bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3}, 50_000)
	const n = 20
	objs := make([]Object, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u, err := s.NewUpload(int64(len(data)))
			if err != nil {
				errs[i] = err
				return
			}
			defer u.Abort()
			// Small chunks so that the uploads interleave.
			if _, err := u.ReadFrom(io.LimitReader(bytes.NewReader(data), int64(len(data)))); err != nil {
				errs[i] = err
				return
			}
			objs[i], errs[i] = u.Commit("jpg")
		})
	}
	wg.Wait()

	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("upload %d: %v", i, errs[i])
		}
		if objs[i].Key != objs[0].Key {
			t.Errorf("upload %d key = %q, want %q", i, objs[i].Key, objs[0].Key)
		}
		if objs[i].Created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d uploads report Created, want exactly 1", created)
	}
	got, err := s.ReadFile(objs[0].Key)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReadFile after concurrent uploads: %d bytes, %v; want the %d uploaded bytes", len(got), err, len(data))
	}
	if got := files(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want nothing", got)
	}
	if got := files(t, dir, "originals"); len(got) != 1 {
		t.Errorf("originals/ holds %q, want one file", got)
	}
}

func TestTooLarge(t *testing.T) {
	s, dir := openTestFS(t)
	const limit = 100

	t.Run("Write", func(t *testing.T) {
		u, err := s.NewUpload(limit)
		if err != nil {
			t.Fatal(err)
		}
		defer u.Abort()
		if n, err := u.Write(make([]byte, 60)); n != 60 || err != nil {
			t.Fatalf("Write(60 bytes) = %d, %v; want 60, nil", n, err)
		}
		if n, err := u.Write(make([]byte, 40)); n != 40 || err != nil {
			t.Fatalf("Write(40 bytes) up to the limit = %d, %v; want 40, nil", n, err)
		}
		if n, err := u.Write([]byte{1}); n != 0 || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Write past the limit = %d, %v; want 0, ErrTooLarge", n, err)
		}
		if n, err := u.Write(nil); n != 0 || !errors.Is(err, ErrTooLarge) {
			t.Errorf("Write after the limit = %d, %v; want 0, ErrTooLarge", n, err)
		}
		if u.Size() != limit {
			t.Errorf("Size = %d, want %d (nothing past the limit written)", u.Size(), limit)
		}
		if fi, err := os.Stat(u.TempPath()); err != nil || fi.Size() != limit {
			t.Errorf("temp file = %v, %v; want %d bytes", fi, err, limit)
		}
		if _, err := u.Commit("jpg"); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Commit after ErrTooLarge = %v, want ErrTooLarge", err)
		}
	})

	t.Run("ReadFrom", func(t *testing.T) {
		u, err := s.NewUpload(limit)
		if err != nil {
			t.Fatal(err)
		}
		n, err := u.ReadFrom(bytes.NewReader(make([]byte, 10*limit)))
		if !errors.Is(err, ErrTooLarge) || n > limit {
			t.Errorf("ReadFrom(%d bytes) = %d, %v; want ≤ %d, ErrTooLarge", 10*limit, n, err, limit)
		}
		if err := u.Abort(); err != nil {
			t.Errorf("Abort = %v", err)
		}
	})

	t.Run("ExactlyLimit", func(t *testing.T) {
		u, err := s.NewUpload(limit)
		if err != nil {
			t.Fatal(err)
		}
		defer u.Abort()
		data := bytes.Repeat([]byte{7}, limit)
		if n, err := io.Copy(u, bytes.NewReader(data)); n != limit || err != nil {
			t.Fatalf("io.Copy(%d bytes) = %d, %v; want %d, nil", limit, n, err, limit)
		}
		obj, err := u.Commit("gif")
		if err != nil || obj.Size != limit {
			t.Fatalf("Commit = %+v, %v; want Size %d", obj, err, limit)
		}
		s.Delete(obj.Key)
	})

	if got := files(t, dir, "originals"); len(got) != 0 {
		t.Errorf("originals/ holds %q after oversized uploads, want nothing", got)
	}
	if got := files(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %q after Abort, want nothing", got)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	s, dir := openTestFS(t)
	u, err := s.NewUpload(0)
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("half an upload"))
	if _, err := os.Stat(u.TempPath()); err != nil {
		t.Fatalf("temp file missing before Abort: %v", err)
	}
	if err := u.Abort(); err != nil {
		t.Fatalf("Abort = %v", err)
	}
	if err := u.Abort(); err != nil {
		t.Errorf("second Abort = %v, want nil", err)
	}
	if _, err := u.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Abort = %v, want ErrClosed", err)
	}
	if _, err := u.Commit("jpg"); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Abort = %v, want ErrClosed", err)
	}
	if got := files(t, dir, ""); len(got) != 0 {
		t.Errorf("data dir holds %q after Abort, want nothing", got)
	}
}

func TestFinishedUpload(t *testing.T) {
	s, dir := openTestFS(t)
	u, err := s.NewUpload(0)
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("committed"))
	obj, err := u.Commit("webp")
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Abort(); err != nil {
		t.Errorf("Abort after Commit = %v, want nil", err)
	}
	if _, _, err := s.Stat(obj.Key); err != nil {
		t.Errorf("Stat after Commit+Abort = %v, want the original kept", err)
	}
	if _, err := u.Commit("webp"); !errors.Is(err, ErrClosed) {
		t.Errorf("second Commit = %v, want ErrClosed", err)
	}
	if _, err := u.Write([]byte("more")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Commit = %v, want ErrClosed", err)
	}
	if got := files(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want nothing", got)
	}
}

func TestCommitBadExt(t *testing.T) {
	s, dir := openTestFS(t)
	for _, ext := range []string{"", "jpeg", ".jpg", "JPG", "svg", "../x", "jpg/.."} {
		u, err := s.NewUpload(0)
		if err != nil {
			t.Fatal(err)
		}
		u.Write([]byte("x"))
		if obj, err := u.Commit(ext); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Commit(%q) = %+v, %v; want ErrInvalidKey", ext, obj, err)
		}
	}
	if got := files(t, dir, ""); len(got) != 0 {
		t.Errorf("data dir holds %q, want nothing", got)
	}
}

func TestHeadAndTempPath(t *testing.T) {
	s, dir := openTestFS(t)
	u, err := s.NewUpload(0)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Abort()
	if len(u.Head()) != 0 {
		t.Errorf("Head of an empty upload = %q, want empty", u.Head())
	}
	var all []byte
	for i := range 50 { // 3 bytes at a time: Head must stitch writes together
		p := []byte{byte(i), byte(i + 1), byte(i + 2)}
		all = append(all, p...)
		u.Write(p)
		want := all[:min(len(all), HeadLen)]
		if !bytes.Equal(u.Head(), want) {
			t.Fatalf("after %d bytes Head = %x, want %x", len(all), u.Head(), want)
		}
	}
	if u.Size() != int64(len(all)) {
		t.Errorf("Size = %d, want %d", u.Size(), len(all))
	}
	p := u.TempPath()
	if !filepath.IsAbs(p) || !strings.HasPrefix(p, filepath.Join(dir, "tmp")+string(filepath.Separator)) {
		t.Errorf("TempPath = %q, want an absolute path under %s/tmp", p, dir)
	}
	// The file is complete before Commit, for probing by path.
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, all) {
		t.Errorf("ReadFile(TempPath) = %d bytes, %v; want the %d written", len(got), err, len(all))
	}
	u.Commit("avif")
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temp file after Commit: Stat = %v, want not exist", err)
	}
}

func TestInvalidKeysBeforeFileAccess(t *testing.T) {
	s, _ := openTestFS(t)
	// With the root closed, any file system access fails with os.ErrClosed;
	// getting ErrInvalidKey shows the key was refused before any.
	s.Close()
	for _, key := range []string{
		"../../etc/passwd", "%2e%2e", "aa/../..", "..", ".", "",
		hex32[:16] + "\x00" + hex32[16:] + ".jpg",
		hex32[:16] + "\\" + hex32[16:] + ".jpg",
		strings.ToUpper(hex32) + ".jpg",
		hex32[:31] + ".jpg", hex64 + "a.jpg",
		hex32 + ".exe", hex32 + ".jpg/../../x",
	} {
		if _, err := s.Open(key); err != ErrInvalidKey {
			t.Errorf("Open(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.ReadFile(key); err != ErrInvalidKey {
			t.Errorf("ReadFile(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, _, err := s.Stat(key); err != ErrInvalidKey {
			t.Errorf("Stat(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(key); err != ErrInvalidKey {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.RelPath(key); err != ErrInvalidKey {
			t.Errorf("RelPath(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
}

func TestNotFound(t *testing.T) {
	s, dir := openTestFS(t)
	key := hex32 + ".jpg"
	if _, err := s.Open(key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(absent) = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Stat(key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat(absent) = %v, want ErrNotFound", err)
	}
	if err := s.Delete(key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(absent) = %v, want ErrNotFound", err)
	}
	// A directory where the original would be is not an original.
	if err := os.MkdirAll(filepath.Join(dir, "originals", key[:2], key[2:4], key), 0o755); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Open(key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(directory) = %v, %v; want ErrNotFound", f, err)
	}
	if _, _, err := s.Stat(key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat(directory) = %v, want ErrNotFound", err)
	}
	// A file where the shard directory would be (ENOTDIR) is absent too.
	key2 := "ab" + hex32[2:] + ".png"
	if err := os.WriteFile(filepath.Join(dir, "originals", "ab"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(key2); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(under a file) = %v, want ErrNotFound", err)
	}
}

func TestDeleteThenOpen(t *testing.T) {
	s, dir := openTestFS(t)
	obj := put(t, s, []byte("to be deleted"), "gif")
	f, err := s.Open(obj.Key)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	f.Close()
	if err := s.Delete(obj.Key); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if _, err := s.Open(obj.Key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Delete = %v, want ErrNotFound", err)
	}
	if _, err := s.ReadFile(obj.Key); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadFile after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(obj.Key); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if got := files(t, dir, "originals"); len(got) != 0 {
		t.Errorf("originals/ holds %q after Delete, want nothing", got)
	}
	// Uploading again after a delete stores it afresh.
	if again := put(t, s, []byte("to be deleted"), "gif"); !again.Created || again.Key != obj.Key {
		t.Errorf("re-upload after Delete = %+v, want Created with key %q", again, obj.Key)
	}
}

// TestSymlinkEscape plants symbolic links inside originals/ that point
// outside the data directory. os.Root refuses to follow them, so neither a
// read nor a commit ever leaves the tree.
func TestSymlinkEscape(t *testing.T) {
	s, dir := openTestFS(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("outside the root"), 0o644); err != nil {
		t.Fatal(err)
	}

	key := "3f9a" + hex32[4:] + ".jpg"
	shard := filepath.Join(dir, "originals", "3f", "9a")
	if err := os.MkdirAll(shard, 0o755); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(shard, secret) // ../../../../…/secret
	for _, target := range []string{secret, rel} {
		link := filepath.Join(shard, key)
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		// The link does reach the secret for an ordinary open…
		if b, err := os.ReadFile(link); err != nil || string(b) != "outside the root" {
			t.Fatalf("test setup: os.ReadFile(link to %s) = %q, %v", target, b, err)
		}
		// …but not through the store.
		if f, err := s.Open(key); err == nil {
			b, _ := io.ReadAll(f)
			f.Close()
			t.Errorf("Open(link to %s) succeeded and read %q, want an error", target, b)
		}
		if b, err := s.ReadFile(key); err == nil {
			t.Errorf("ReadFile(link to %s) = %q, want an error", target, b)
		}
		if _, _, err := s.Stat(key); err == nil {
			t.Errorf("Stat(link to %s) = nil error, want one", target)
		}
	}

	// A shard directory that is a link to outside: Commit must not write
	// through it.
	data := []byte("escape attempt via commit")
	k := wantKey(data, "png")
	outDir := filepath.Join(outside, "shard")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outDir, filepath.Join(dir, "originals", k[:2])); err != nil {
		t.Fatal(err)
	}
	u, err := s.NewUpload(0)
	if err != nil {
		t.Fatal(err)
	}
	u.Write(data)
	if obj, err := u.Commit("png"); err == nil {
		t.Errorf("Commit through a symlinked shard = %+v, want an error", obj)
	}
	if got := files(t, outside, "shard"); len(got) != 0 {
		t.Errorf("Commit wrote %q outside the root", got)
	}
	if got := files(t, dir, "tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %q after a failed Commit, want nothing", got)
	}
}

func TestStaleTmpSweep(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.NewUpload(0) // a crashed upload: never committed nor aborted
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("left behind"))
	stale := u.TempPath()
	fresh := filepath.Join(dir, "tmp", tmpPrefix+"fresh")
	foreign := filepath.Join(dir, "tmp", "not-ours")
	for _, p := range []string{fresh, foreign} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, p := range []string{stale, foreign} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	s2, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for p, want := range map[string]bool{stale: false, fresh: true, foreign: true} {
		_, err := os.Stat(p)
		if exists := err == nil; exists != want {
			t.Errorf("after Open, %s exists = %v, want %v", filepath.Base(p), exists, want)
		}
	}
}

func TestWritable(t *testing.T) {
	s, dir := openTestFS(t)
	if err := s.Writable(); err != nil {
		t.Errorf("Writable() = %v, want nil", err)
	}
	if got := files(t, dir, ""); len(got) != 0 {
		t.Errorf("Writable left %q behind", got)
	}
}

func TestWriteErrMapping(t *testing.T) {
	// The errno values a refused write produces, as os.Root returns them.
	for _, tt := range []struct {
		err      error
		readOnly bool
	}{
		{&fs.PathError{Op: "openat", Path: "tmp/up-x", Err: syscall.EROFS}, true},
		{&fs.PathError{Op: "openat", Path: "tmp/up-x", Err: syscall.EACCES}, true},
		{&fs.PathError{Op: "mkdirat", Path: "originals/3f", Err: syscall.EPERM}, true},
		{&os.LinkError{Op: "linkat", Old: "a", New: "b", Err: syscall.EROFS}, true},
		{&fs.PathError{Op: "write", Path: "tmp/up-x", Err: syscall.ENOSPC}, false},
		{&fs.PathError{Op: "openat", Path: "x", Err: syscall.ENOENT}, false},
		{io.ErrUnexpectedEOF, false},
	} {
		got := writeErr(tt.err)
		if errors.Is(got, ErrReadOnly) != tt.readOnly {
			t.Errorf("writeErr(%v) = %v, want ErrReadOnly: %v", tt.err, got, tt.readOnly)
		}
		if !errors.Is(got, tt.err) {
			t.Errorf("writeErr(%v) = %v, which no longer wraps the cause", tt.err, got)
		}
	}
	if writeErr(nil) != nil {
		t.Error("writeErr(nil) != nil")
	}
}

// TestReadOnly checks that a file system refusing writes gives ErrReadOnly
// from every write path while reads keep working. Permission bits do not
// stop root, so as root the directory is made read-only by a read-only bind
// mount (EROFS, as on a read-only volume) or the immutable attribute
// (EPERM); as any other user chmod 0555 does it (EACCES). Where none of
// these is possible TestWriteErrMapping still covers the mapping.
func TestReadOnly(t *testing.T) {
	setup, dir := openTestFS(t)
	data := []byte("stored while writable")
	obj := put(t, setup, data, "jpg")
	setup.Close()

	checkReads := func(t *testing.T, s *FS) {
		t.Helper()
		if got, err := s.ReadFile(obj.Key); err != nil || !bytes.Equal(got, data) {
			t.Errorf("ReadFile on a read-only store = %q, %v; want the original", got, err)
		}
	}
	checkUploadRefused := func(t *testing.T, s *FS) {
		t.Helper()
		if err := s.Writable(); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Writable() = %v, want ErrReadOnly", err)
		}
		if u, err := s.NewUpload(0); !errors.Is(err, ErrReadOnly) {
			t.Errorf("NewUpload = %v, want ErrReadOnly", err)
			if u != nil {
				u.Abort()
			}
		}
		if err := s.Delete(obj.Key); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Delete = %v, want ErrReadOnly", err)
		}
	}
	// checkCommitRefused needs tmp/ writable and originals/ not.
	checkCommitRefused := func(t *testing.T, s *FS) {
		t.Helper()
		u, err := s.NewUpload(0)
		if err != nil {
			t.Fatalf("NewUpload with tmp/ writable = %v", err)
		}
		defer u.Abort()
		u.Write([]byte("new bytes, new shard"))
		if obj, err := u.Commit("png"); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Commit into read-only originals/ = %+v, %v; want ErrReadOnly", obj, err)
		}
		if got := files(t, dir, "tmp"); len(got) != 0 {
			t.Errorf("tmp/ holds %q after a refused Commit, want nothing", got)
		}
	}

	// dirsUnder lists originals/ and every shard directory below it, so
	// that a new key cannot slip into an existing, writable shard.
	dirsUnder := func(t *testing.T, root string) []string {
		t.Helper()
		var dirs []string
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		return dirs
	}
	originals, tmp := filepath.Join(dir, "originals"), filepath.Join(dir, "tmp")

	if os.Geteuid() != 0 {
		t.Run("chmod", func(t *testing.T) {
			chmod := func(mode os.FileMode, paths []string) {
				for _, p := range paths {
					if err := os.Chmod(p, mode); err != nil {
						t.Fatal(err)
					}
				}
			}
			locked := dirsUnder(t, originals)
			t.Cleanup(func() { chmod(0o755, append(locked, tmp)) })
			s, err := Open(Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			chmod(0o555, locked)
			checkReads(t, s)
			checkCommitRefused(t, s)
			chmod(0o555, []string{tmp})
			checkUploadRefused(t, s)
		})
		return
	}

	t.Run("bind-mount", func(t *testing.T) {
		if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
			t.Skipf("this sandbox refuses bind mounts (%v); runs where the tests are root with CAP_SYS_ADMIN, as on the dev machine and CI; TestWriteErrMapping covers the mapping", err)
		}
		t.Cleanup(func() {
			if err := syscall.Unmount(dir, 0); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		})
		if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
			t.Skipf("this sandbox refuses a read-only remount (%v); runs where the tests are root with CAP_SYS_ADMIN, as on the dev machine and CI; TestWriteErrMapping covers the mapping", err)
		}
		s, err := Open(Config{Dir: dir}) // opens: a read-only store still serves
		if err != nil {
			t.Fatalf("Open on a read-only mount = %v", err)
		}
		defer s.Close()
		checkReads(t, s)
		checkUploadRefused(t, s)
		if err := s.Writable(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("Writable() = %v, want it to wrap EROFS", err)
		}
	})

	t.Run("immutable", func(t *testing.T) {
		chattr, err := exec.LookPath("chattr")
		if err != nil {
			t.Skip("chattr (Debian e2fsprogs) is not installed; it is on the dev machine and CI, where this runs; TestWriteErrMapping covers the mapping")
		}
		locked := dirsUnder(t, originals)
		if out, err := exec.Command(chattr, append([]string{"+i"}, locked...)...).CombinedOutput(); err != nil {
			exec.Command(chattr, append([]string{"-i"}, locked...)...).Run()
			t.Skipf("this file system refuses chattr +i (%v: %s); runs on ext4 as root, as on the dev machine and CI; TestWriteErrMapping covers the mapping", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command(chattr, append([]string{"-i"}, locked...)...).CombinedOutput(); err != nil {
				t.Errorf("chattr -i: %v: %s", err, out)
			}
		})
		s, err := Open(Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		checkReads(t, s)
		checkCommitRefused(t, s)
	})
}
