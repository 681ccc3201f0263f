package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/pictorhq/pictor/internal/miniotest"
)

// backend is one Store implementation under the conformance suite.
type backend struct {
	// open opens a fresh, empty store and returns its data directory.
	open func(t *testing.T) (Store, string)
	// stored lists the names of the originals the backend's source of
	// truth holds (the data directory for FS, the bucket for S3).
	stored func(t *testing.T, s Store) []string
}

func fsBackend() backend {
	return backend{
		open: func(t *testing.T) (Store, string) {
			s, dir := openTestFS(t)
			return s, dir
		},
		stored: func(t *testing.T, s Store) []string {
			return files(t, s.(*FS).abs, originalsDir)
		},
	}
}

// s3Backend runs every store on its own prefix of one MinIO server, with a
// data directory of its own, as a separate sidecar would have.
func s3Backend(t *testing.T) backend {
	srv := miniotest.Start(t)
	return backend{
		open: func(t *testing.T) (Store, string) {
			return openTestS3(t, srv, t.TempDir(), strings.ReplaceAll(t.Name(), "/", "-"), nil)
		},
		stored: func(t *testing.T, s Store) []string {
			return bucketObjects(t, s.(*S3), originalsDir)
		},
	}
}

func testS3Config(srv *miniotest.Server, prefix string) S3Config {
	c := DefaultS3Config()
	c.Endpoint, c.Bucket, c.Prefix = srv.Endpoint, srv.Bucket, prefix
	c.AccessKey, c.SecretKey = srv.AccessKey, srv.SecretKey
	c.Timeout = 5 * time.Second
	return c
}

func openTestS3(t *testing.T, srv *miniotest.Server, dir, prefix string, edit func(*S3Config)) (*S3, string) {
	t.Helper()
	c := testS3Config(srv, prefix)
	if edit != nil {
		edit(&c)
	}
	s, err := OpenS3(Config{Dir: dir, Backend: BackendS3}, c, nil)
	if err != nil {
		t.Fatalf("OpenS3 = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// bucketObjects lists the object names under the store's prefix and sub,
// relative to the prefix.
func bucketObjects(t *testing.T, s *S3, sub string) []string {
	t.Helper()
	var out []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for o := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.prefix + sub, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("listing bucket: %v", o.Err)
		}
		out = append(out, strings.TrimPrefix(o.Key, s.prefix))
	}
	return out
}

func TestConformanceFS(t *testing.T) { testConformance(t, fsBackend()) }

func TestConformanceS3(t *testing.T) { testConformance(t, s3Backend(t)) }

func upload(s Store, data []byte, ext string, max int64) (Object, error) {
	u, err := s.NewUpload(max)
	if err != nil {
		return Object{}, err
	}
	defer u.Abort()
	if _, err := u.ReadFrom(bytes.NewReader(data)); err != nil {
		return Object{}, err
	}
	return u.Commit(ext)
}

func mustUpload(t *testing.T, s Store, data []byte, ext string) Object {
	t.Helper()
	obj, err := upload(s, data, ext, 0)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	return obj
}

// testConformance is what every Store must do.
func testConformance(t *testing.T, b backend) {
	jpeg := bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0, 9, 8, 7}, 20_000)

	t.Run("RoundTrip", func(t *testing.T) {
		s, dir := b.open(t)
		obj := mustUpload(t, s, jpeg, "jpg")
		want := wantKey(jpeg, "jpg")
		if obj.Key != want || obj.Size != int64(len(jpeg)) || !obj.Created {
			t.Fatalf("Commit = %+v, want key %s, size %d, created", obj, want, len(jpeg))
		}
		m, err := s.Map(obj.Key)
		if err != nil || !bytes.Equal(m.Bytes(), jpeg) {
			t.Fatalf("Map = %d bytes, %v; want the uploaded %d", len(m.Bytes()), err, len(jpeg))
		}
		m.Close()
		f, err := s.Open(obj.Key)
		if err != nil {
			t.Fatalf("Open = %v", err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if !bytes.Equal(got, jpeg) {
			t.Errorf("Open read %d bytes, want the uploaded %d", len(got), len(jpeg))
		}
		if size, _, err := s.Stat(obj.Key); err != nil || size != int64(len(jpeg)) {
			t.Errorf("Stat = %d, %v; want %d", size, err, len(jpeg))
		}
		if ok, err := s.Exists(obj.Key); !ok || err != nil {
			t.Errorf("Exists = %v, %v; want true", ok, err)
		}
		rel, err := s.RelPath(obj.Key)
		if want := "originals/" + want[:2] + "/" + want[2:4] + "/" + want; rel != want || err != nil {
			t.Errorf("RelPath = %q, %v; want %q", rel, err, want)
		}
		// Behind Nginx the original is sent from this local file.
		if got := files(t, dir, rel); len(got) != 1 {
			t.Errorf("no local file at %s", rel)
		}
		if got := b.stored(t, s); !slices.Equal(got, []string{rel}) {
			t.Errorf("stored = %q, want [%s]", got, rel)
		}
		if err := s.Ready(); err != nil {
			t.Errorf("Ready = %v", err)
		}
	})

	t.Run("SameBytesStoredOnce", func(t *testing.T) {
		s, _ := b.open(t)
		first := mustUpload(t, s, jpeg, "jpg")
		again := mustUpload(t, s, jpeg, "jpg")
		if again.Key != first.Key || again.Created {
			t.Errorf("second upload = %+v, want key %s, not created", again, first.Key)
		}
		if got := b.stored(t, s); len(got) != 1 {
			t.Errorf("stored = %q, want one original", got)
		}
	})

	t.Run("ConcurrentSameBytesOneCreated", func(t *testing.T) {
		s, dir := b.open(t)
		const n = 8
		objs, errs := make([]Object, n), make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { objs[i], errs[i] = upload(s, jpeg, "jpg", 0) })
		}
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("upload %d: %v", i, errs[i])
			}
			if objs[i].Created {
				created++
			}
		}
		if created != 1 {
			t.Errorf("%d uploads report Created, want exactly 1", created)
		}
		if got := files(t, dir, tmpDir); len(got) != 0 {
			t.Errorf("tmp/ holds %q, want nothing", got)
		}
	})

	t.Run("TooLargeLeavesNothing", func(t *testing.T) {
		s, dir := b.open(t)
		_, err := upload(s, jpeg, "jpg", int64(len(jpeg)-1))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("upload over the limit = %v, want ErrTooLarge", err)
		}
		if got := b.stored(t, s); len(got) != 0 {
			t.Errorf("stored = %q, want nothing", got)
		}
		if got := files(t, dir, tmpDir); len(got) != 0 {
			t.Errorf("tmp/ holds %q, want nothing", got)
		}
	})

	t.Run("AbortAndBadExtLeaveNothing", func(t *testing.T) {
		s, dir := b.open(t)
		u, err := s.NewUpload(0)
		if err != nil {
			t.Fatal(err)
		}
		u.Write(jpeg)
		if err := u.Abort(); err != nil {
			t.Errorf("Abort = %v", err)
		}
		if _, err := upload(s, jpeg, "bmp", 0); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Commit(bmp) = %v, want ErrInvalidKey", err)
		}
		if got := b.stored(t, s); len(got) != 0 {
			t.Errorf("stored = %q, want nothing", got)
		}
		if got := files(t, dir, tmpDir); len(got) != 0 {
			t.Errorf("tmp/ holds %q, want nothing", got)
		}
	})

	t.Run("InvalidAndMissingKeys", func(t *testing.T) {
		s, _ := b.open(t)
		for _, key := range []string{"", "../etc/passwd", strings.Repeat("A", 64) + ".jpg", wantKey(jpeg, "bmp")} {
			if _, err := s.Map(key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Map(%q) = %v, want ErrInvalidKey", key, err)
			}
			if _, err := s.Exists(key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Exists(%q) = %v, want ErrInvalidKey", key, err)
			}
			if err := s.Delete(key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
			}
		}
		missing := wantKey([]byte("never uploaded"), "png")
		if _, err := s.Map(missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("Map(missing) = %v, want ErrNotFound", err)
		}
		if _, err := s.Open(missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(missing) = %v, want ErrNotFound", err)
		}
		if _, _, err := s.Stat(missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat(missing) = %v, want ErrNotFound", err)
		}
		if ok, err := s.Exists(missing); ok || err != nil {
			t.Errorf("Exists(missing) = %v, %v; want false, nil", ok, err)
		}
		if err := s.Delete(missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete(missing) = %v, want ErrNotFound", err)
		}
		// A key of 32 digits names only an original of exactly that name.
		obj := mustUpload(t, s, jpeg, "jpg")
		if _, err := s.Map(obj.Key[:32] + ".jpg"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Map(short key) = %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteThenUploadAgain", func(t *testing.T) {
		s, dir := b.open(t)
		obj := mustUpload(t, s, jpeg, "jpg")
		if err := s.Delete(obj.Key); err != nil {
			t.Fatalf("Delete = %v", err)
		}
		if _, err := s.Map(obj.Key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Map after Delete = %v, want ErrNotFound", err)
		}
		if err := s.Delete(obj.Key); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Delete = %v, want ErrNotFound", err)
		}
		if got := files(t, dir, originalsDir); len(got) != 0 {
			t.Errorf("local originals after Delete: %q", got)
		}
		if got := b.stored(t, s); len(got) != 0 {
			t.Errorf("stored after Delete = %q", got)
		}
		again := mustUpload(t, s, jpeg, "jpg")
		if !again.Created {
			t.Errorf("upload after Delete = %+v, want created", again)
		}
		if m, err := s.Map(obj.Key); err != nil {
			t.Errorf("Map after re-upload = %v", err)
		} else {
			m.Close()
		}
	})
}
