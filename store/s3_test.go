package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/pictorhq/pictor/internal/miniotest"
)

// Concurrent misses for one original fetch it once, and what they map is
// the uploaded bytes.
func TestS3ConcurrentMissesFetchOnce(t *testing.T) {
	srv := miniotest.Start(t)
	a, _ := openTestS3(t, srv, t.TempDir(), "p", nil)
	b, _ := openTestS3(t, srv, t.TempDir(), "p", nil)
	data := bytes.Repeat([]byte("\x89PNG\r\n\x1a\n-pixels-"), 200_000)
	key := mustUpload(t, a, data, "png").Key
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			m, err := b.Map(key)
			if err == nil && !bytes.Equal(m.Bytes(), data) {
				err = errors.New("mapped bytes differ from the upload")
			}
			if m != nil {
				m.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Map %d: %v", i, err)
		}
	}
	if got := b.Fetches(); got != 1 {
		t.Errorf("16 concurrent misses fetched %d times, want 1", got)
	}
	if got := a.Fetches(); got != 0 {
		t.Errorf("the uploading sidecar fetched %d times, want 0 (it keeps the upload as its copy)", got)
	}
}

// The local copies stay within their byte budget, the least recently used
// going first, and an evicted original is fetched again when asked for.
func TestS3LocalCopiesBounded(t *testing.T) {
	srv := miniotest.Start(t)
	a, _ := openTestS3(t, srv, t.TempDir(), "p", nil)
	const size = 100_000
	b, bdir := openTestS3(t, srv, t.TempDir(), "p", func(c *S3Config) { c.CacheBytes = 2*size + size/2 })
	var keys []string
	for i := range 3 {
		data := bytes.Repeat([]byte{0xff, 0xd8, 0xff, byte(i)}, size/4)
		keys = append(keys, mustUpload(t, a, data, "jpg").Key)
	}
	for _, k := range keys {
		if _, _, err := b.Stat(k); err != nil {
			t.Fatalf("Stat(%s) = %v", k, err)
		}
	}
	if got := b.copies.bytes(); got > 2*size+size/2 {
		t.Errorf("local copies hold %d bytes, over the %d budget", got, 2*size+size/2)
	}
	if got := files(t, bdir, originalsDir); len(got) != 2 {
		t.Errorf("local copies %q, want the 2 most recent", got)
	}
	if ok, _ := b.local.Exists(keys[0]); ok {
		t.Errorf("the least recently used copy is still on disk")
	}
	if _, _, err := b.Stat(keys[0]); err != nil || b.Fetches() != 4 {
		t.Errorf("evicted original: Stat = %v after %d fetches, want fetched again (4)", err, b.Fetches())
	}
	// A restart finds the copies on disk and keeps honouring the budget.
	b.Close()
	b2, _ := openTestS3(t, srv, bdir, "p", func(c *S3Config) { c.CacheBytes = size + size/2 })
	if got := files(t, bdir, originalsDir); len(got) != 1 || b2.copies.bytes() != size {
		t.Errorf("after a restart with a smaller budget: %q, %d bytes; want 1 copy", got, b2.copies.bytes())
	}
}

// An object whose bytes do not hash to its key (altered in the bucket, or
// torn in transit) is never named as a local copy, let alone decoded.
func TestS3CorruptObjectNeverUsed(t *testing.T) {
	srv := miniotest.Start(t)
	s, dir := openTestS3(t, srv, t.TempDir(), "p", nil)
	good := []byte("\xff\xd8\xff\xe0 the real bytes")
	key := wantKey(good, "jpg")
	bad := []byte("\xff\xd8\xff\xe0 other bytes!!!")
	ctx := context.Background()
	if _, err := srv.Client().PutObject(ctx, srv.Bucket, s.object(key), bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Map(key); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Map of an altered object = %v, want ErrCorrupt", err)
	}
	if got := files(t, dir, originalsDir); len(got) != 0 {
		t.Errorf("local copies %q after a corrupt fetch, want none", got)
	}
	if got := files(t, dir, tmpDir); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want nothing", got)
	}
}

// faulty is a reverse proxy in front of MinIO that answers 503 to the
// first fail requests of method, and counts every request by method.
type faulty struct {
	mu     sync.Mutex
	method string
	fail   int
	seen   map[string]int
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	f.mu.Lock()
	f.seen[r.Method]++
	failing := r.Method == f.method && f.fail > 0
	if failing {
		f.fail--
	}
	f.mu.Unlock()
	if failing {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>try again</Message></Error>`)
		return
	}
	next.ServeHTTP(w, r)
}

func (f *faulty) set(method string, fail int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.method, f.fail, f.seen = method, fail, map[string]int{}
}

func (f *faulty) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[method]
}

// Reads that meet a transient error are retried; writes are not, and a
// failed write leaves nothing behind, locally or in the bucket.
func TestS3RetriesOnlyReads(t *testing.T) {
	srv := miniotest.Start(t)
	target, _ := url.Parse(srv.Endpoint)
	proxy := httputil.NewSingleHostReverseProxy(target)
	f := &faulty{seen: map[string]int{}}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.ServeHTTP(w, r, proxy) }))
	t.Cleanup(front.Close)
	via := func(c *S3Config) { c.Endpoint = front.URL }
	a, _ := openTestS3(t, srv, t.TempDir(), "p", via)
	b, bdir := openTestS3(t, srv, t.TempDir(), "p", via)

	data := []byte("\xff\xd8\xff\xe0 retried read")
	key := mustUpload(t, a, data, "jpg").Key
	f.set(http.MethodGet, 2)
	if m, err := b.Map(key); err != nil {
		t.Fatalf("Map with two 503s before success = %v, want retried", err)
	} else {
		m.Close()
	}
	if got := f.count(http.MethodGet); got != 3 {
		t.Errorf("GETs = %d, want 3 (two failures, one success)", got)
	}

	other := []byte("\xff\xd8\xff\xe0 a put that fails")
	f.set(http.MethodPut, 1)
	if _, err := upload(b, other, "jpg", 0); !errors.Is(err, ErrUnavailable) {
		t.Errorf("upload with a 503 on PUT = %v, want ErrUnavailable", err)
	}
	if got := f.count(http.MethodPut); got != 1 {
		t.Errorf("PUTs = %d, want exactly 1 (writes are not retried)", got)
	}
	if ok, _ := b.Exists(wantKey(other, "jpg")); ok {
		t.Errorf("the failed put left an object in the bucket")
	}
	if got := files(t, bdir, tmpDir); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want nothing", got)
	}
	if ok, _ := b.local.Exists(wantKey(other, "jpg")); ok {
		t.Errorf("the failed put left a local copy")
	}
}

// A DELETE through one sidecar reaches another through the bucket's
// tombstones: its local copy goes and its purge runs, once; uploading the
// bytes again removes the tombstone, and deleting them again purges again.
func TestS3TombstoneSync(t *testing.T) {
	srv := miniotest.Start(t)
	a, _ := openTestS3(t, srv, t.TempDir(), "p", nil)
	b, bdir := openTestS3(t, srv, t.TempDir(), "p", nil)
	var purged []string
	purge := func(k string) { purged = append(purged, k) }
	data := []byte("\xff\xd8\xff\xe0 deleted elsewhere")
	key := mustUpload(t, a, data, "jpg").Key
	if _, _, err := b.Stat(key); err != nil {
		t.Fatal(err)
	}
	if n := b.SyncNow(purge); n != 0 {
		t.Errorf("sync before any delete purged %d", n)
	}
	if err := a.Delete(key); err != nil {
		t.Fatal(err)
	}
	if n := b.SyncNow(purge); n != 1 || len(purged) != 1 || purged[0] != key {
		t.Errorf("sync after a delete purged %d (%q), want [%s]", n, purged, key)
	}
	if got := files(t, bdir, originalsDir); len(got) != 0 {
		t.Errorf("local copy %q survived the tombstone", got)
	}
	if n := b.SyncNow(purge); n != 0 {
		t.Errorf("a seen tombstone purged again: %d", n)
	}
	mustUpload(t, a, data, "jpg")
	if got := bucketObjects(t, a, tombstoneDir); len(got) != 0 {
		t.Errorf("tombstones after re-upload: %q", got)
	}
	if n := b.SyncNow(purge); n != 0 {
		t.Errorf("sync after re-upload purged %d", n)
	}
	if err := a.Delete(key); err != nil {
		t.Fatal(err)
	}
	if n := b.SyncNow(purge); n != 1 {
		t.Errorf("sync after the second delete purged %d, want 1", n)
	}
	// A sidecar that starts later catches up on its first pass.
	c, _ := openTestS3(t, srv, t.TempDir(), "p", nil)
	if n := c.SyncNow(nil); n != 1 {
		t.Errorf("a new sidecar's first sync purged %d, want the 1 tombstone", n)
	}
	// The loop itself runs every interval.
	d, _ := openTestS3(t, srv, t.TempDir(), "p", func(c *S3Config) { c.SyncInterval = 50 * time.Millisecond })
	var loops atomic.Int64
	d.StartSync(func(string) { loops.Add(1) })
	deadline := time.Now().Add(5 * time.Second)
	for loops.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if loops.Load() == 0 {
		t.Error("the sync loop purged nothing in 5 s")
	}
}

// Credentials never appear in an error's text, whatever the underlying
// error says.
func TestS3RedactsCredentials(t *testing.T) {
	srv := miniotest.Start(t)
	s, _ := openTestS3(t, srv, t.TempDir(), "p", nil)
	err := s.remote("get", fmt.Errorf("proxy said: bad key %s / %s", srv.AccessKey, srv.SecretKey))
	if msg := err.Error(); strings.Contains(msg, srv.SecretKey) || strings.Contains(msg, srv.AccessKey) || !strings.Contains(msg, "[redacted]") {
		t.Errorf("remote error = %q, want the credentials redacted", msg)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("remote error %v is not ErrUnavailable", err)
	}
}

func TestS3ConfigValidate(t *testing.T) {
	ok := DefaultS3Config()
	ok.Endpoint, ok.Bucket = "http://127.0.0.1:9000", "b"
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", ok, err)
	}
	for _, tt := range []struct {
		name string
		edit func(*S3Config)
		want string
	}{
		{"no endpoint", func(c *S3Config) { c.Endpoint = "" }, "PICTOR_S3_ENDPOINT"},
		{"ftp", func(c *S3Config) { c.Endpoint = "ftp://h" }, "PICTOR_S3_ENDPOINT"},
		{"credentials in URL", func(c *S3Config) { c.Endpoint = "http://user:pass@h:9000" }, "without path or credentials"},
		{"no bucket", func(c *S3Config) { c.Bucket = "" }, "PICTOR_S3_BUCKET"},
		{"no budget", func(c *S3Config) { c.CacheBytes = 0 }, "PICTOR_ORIGINALS_CACHE_BYTES"},
		{"no interval", func(c *S3Config) { c.SyncInterval = 0 }, "PICTOR_S3_SYNC_INTERVAL"},
	} {
		c := ok
		tt.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate = %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
}

// A bucket that does not exist stops the store opening, with a clear
// error; an unreachable store does not (local copies keep serving).
func TestOpenS3Bucket(t *testing.T) {
	srv := miniotest.Start(t)
	c := testS3Config(srv, "")
	c.Bucket = "no-such-bucket"
	if _, err := OpenS3(Config{Dir: t.TempDir()}, c, nil); err == nil || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("OpenS3 on a missing bucket = %v, want an error naming it", err)
	}
	c = testS3Config(srv, "")
	c.Endpoint = "http://127.0.0.1:1" // nothing listens on port 1
	s, err := OpenS3(Config{Dir: t.TempDir()}, c, nil)
	if err != nil {
		t.Fatalf("OpenS3 with the store unreachable = %v, want opened", err)
	}
	defer s.Close()
	if err := s.Ready(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ready = %v, want ErrUnavailable", err)
	}
}
