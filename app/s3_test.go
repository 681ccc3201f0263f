package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pictorhq/pictor/internal/miniotest"
	"github.com/pictorhq/pictor/store"
)

// syncBuffer is a log destination shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startS3 starts an App whose originals are in srv's bucket, with a data
// directory of its own, as a sidecar on another host would have.
func startS3(t *testing.T, srv *miniotest.Server, log *syncBuffer, edit func(*Config)) *running {
	return start(t, func(c *Config) {
		c.Store.Backend = store.BackendS3
		c.S3.Endpoint, c.S3.Bucket = srv.Endpoint, srv.Bucket
		c.S3.AccessKey, c.S3.SecretKey = srv.AccessKey, srv.SecretKey
		c.S3.SyncInterval = 200 * time.Millisecond
		c.Server.Timeout = 2 * time.Second
		c.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if edit != nil {
			edit(c)
		}
	})
}

// signed is the signed /t/ path of raw options for key.
func (r *running) signed(t *testing.T, raw, key string) string {
	t.Helper()
	p, err := r.app.Signer().VariantPath(r.app.Server().Parser, raw, mustParse(t, r, raw), key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// errorBody checks that body is the JSON error of status.
func errorBody(t *testing.T, what string, code int, body []byte, want int) {
	t.Helper()
	var e struct {
		Error  string
		Status int
	}
	if code != want || json.Unmarshal(body, &e) != nil || e.Status != want || e.Error == "" {
		t.Errorf("%s = %d %s, want a JSON %d", what, code, body, want)
	}
}

// Two sidecars with separate data directories share one bucket: an upload
// through one is transformed through the other, a DELETE through one is
// honoured by the other within the sync interval, and the store going
// down or hanging gives JSON 503s in time while local copies keep serving.
// Credentials appear in no answer and no log line.
func TestS3TwoSidecars(t *testing.T) {
	srv := miniotest.Start(t)
	var logs syncBuffer
	a, b := startS3(t, srv, &logs, nil), startS3(t, srv, &logs, nil)
	var answers bytes.Buffer // every body, searched for credentials at the end
	do := func(r *running, method, path string, body []byte) (int, []byte) {
		t.Helper()
		code, out := r.do(t, r.client, method, path, body)
		answers.Write(out)
		return code, out
	}

	img, err := os.ReadFile("../testdata/sample.jpg")
	if err != nil {
		t.Fatal(err)
	}
	key := a.upload(t, "../testdata/sample.jpg")
	if code, body := do(b, "GET", b.signed(t, "w_100", key), nil); code != 200 || len(body) == 0 {
		t.Fatalf("variant through the other sidecar = %d %s", code, body)
	}
	if got := b.app.Originals().(*store.S3).Fetches(); got != 1 {
		t.Errorf("sidecar B fetched %d originals, want 1", got)
	}
	if code, body := do(b, "GET", "/o/"+key, nil); code != 200 || !bytes.Equal(body, img) {
		t.Errorf("/o/ through the other sidecar = %d, %d bytes; want 200 and the upload", code, len(body))
	}
	rel, _ := b.app.Store().RelPath(key)
	if _, err := os.Stat(filepath.Join(b.dir, rel)); err != nil {
		t.Errorf("no local copy on sidecar B: %v", err)
	}
	// The same bytes through the other sidecar are not sent again.
	code, body := do(b, "POST", "/upload", img)
	if code != 200 || !bytes.Contains(body, []byte(`"created":false`)) {
		t.Errorf("re-upload through B = %d %s, want 200 created:false", code, body)
	}

	// DELETE through A: B purges its copy and variants within the interval.
	if code, body := do(a, "DELETE", "/o/"+key, nil); code != 204 {
		t.Fatalf("DELETE = %d %s", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _ := do(b, "GET", b.signed(t, "w_100", key), nil)
		if code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("variant still %d on sidecar B 5 s after the DELETE (sync interval 200 ms)", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(b.dir, rel)); !os.IsNotExist(err) {
		t.Errorf("sidecar B's local copy survived the DELETE: %v", err)
	}

	// Faults. held is local on B; remote is only in the bucket.
	held := a.upload(t, "../testdata/corpus/exif-orientation/Landscape_3.jpg")
	remote := a.upload(t, "../testdata/corpus/exif-orientation/Landscape_5.jpg")
	if code, _ := do(b, "GET", b.signed(t, "w_50", held), nil); code != 200 {
		t.Fatalf("variant of held = %d", code)
	}
	for i, fault := range []struct {
		name        string
		begin, stop func()
	}{
		{"down", srv.Stop, srv.Restart},
		{"hung", srv.Pause, srv.Resume},
	} {
		fault.begin()
		start := time.Now()
		fresh := b.signed(t, fmt.Sprintf("w_%d", 70+i), remote) // in no tier yet
		code, body := do(b, "GET", fresh, nil)
		if took := time.Since(start); took > 2*time.Second+500*time.Millisecond {
			t.Errorf("%s: the answer took %v, over the 2 s deadline", fault.name, took)
		}
		errorBody(t, fault.name+": variant of an original not held locally", code, body, 503)
		code, body = do(b, "GET", "/o/"+remote, nil)
		errorBody(t, fault.name+": /o/ of an original not held locally", code, body, 503)
		code, body = do(b, "GET", b.signed(t, fmt.Sprintf("w_%d", 60+i), held), nil)
		if code != 200 {
			t.Errorf("%s: a new variant of a locally held original = %d %s, want 200", fault.name, code, body)
		}
		code, body = b.do(t, b.admin, "GET", "/readyz", nil)
		answers.Write(body)
		if code != 503 || !bytes.Contains(body, []byte(`"store"`)) {
			t.Errorf("%s: /readyz = %d %s, want 503 naming the store", fault.name, code, body)
		}
		png, _ := os.ReadFile("../testdata/alpha.png")
		code, body = do(a, "POST", "/upload", png)
		errorBody(t, fault.name+": upload", code, body, 503)
		if got := files(t, a.dir, "tmp"); len(got) != 0 {
			t.Errorf("%s: a failed upload left %q in tmp/", fault.name, got)
		}
		fault.stop()
		if code, body := do(b, "GET", fresh, nil); code != 200 {
			t.Errorf("%s: after the store is back, variant = %d %s", fault.name, code, body)
		}
		b.app.Store().Delete(remote) // fetched again in the next fault
	}

	for _, secret := range []string{srv.SecretKey, srv.AccessKey} {
		if strings.Contains(logs.String(), secret) || strings.Contains(answers.String(), secret) {
			t.Errorf("a credential appears in the logs or an answer")
		}
	}
}

// Wrong credentials are the store's condition (503), and neither the
// secret nor the access key reaches an answer, /readyz or the log.
func TestS3BadCredentials(t *testing.T) {
	srv := miniotest.Start(t)
	var logs syncBuffer
	const wrong = "wrong-secret-key-0123456789"
	r := startS3(t, srv, &logs, func(c *Config) { c.S3.SecretKey = wrong })
	img, _ := os.ReadFile("../testdata/sample.jpg")
	code, body := r.do(t, r.client, "POST", "/upload", img)
	errorBody(t, "upload with a wrong secret", code, body, 503)
	_, ready := r.do(t, r.admin, "GET", "/readyz", nil)
	all := string(body) + string(ready) + logs.String()
	for _, secret := range []string{wrong, srv.AccessKey} {
		if strings.Contains(all, secret) {
			t.Errorf("credential %q… appears in %s", secret[:4], all)
		}
	}
	if !strings.Contains(string(ready), "store") {
		t.Errorf("/readyz = %s, want the store named", ready)
	}
}

// files lists the files under dir/sub.
func files(t *testing.T, dir, sub string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(dir, sub), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
