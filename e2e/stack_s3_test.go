package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pictorhq/pictor/internal/miniotest"
)

// s3Env is what a sidecar needs to keep its originals in srv's bucket.
func s3Env(srv *miniotest.Server, extra ...string) []string {
	return append(append(srv.Env(), "PICTOR_S3_SYNC_INTERVAL=300ms", "PICTOR_TIMEOUT=3s"), extra...)
}

// checkLocalCopies fails t for any local copy under dir whose bytes do not
// hash to its name: no torn fetch may ever be named.
func checkLocalCopies(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(dir, "originals"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("reading local copy %s: %v", p, err)
			return nil
		}
		sum := sha256.Sum256(b)
		if name := d.Name(); !strings.HasPrefix(name, hex.EncodeToString(sum[:])) {
			t.Errorf("local copy %s does not hash to its name", p)
		}
		n++
		return nil
	})
	return n
}

// Two sidecars on "two hosts" (separate data directories) share one MinIO
// bucket behind one Nginx with `hash $request_uri consistent`: an upload
// through one is transformed through the other; a DELETE through one is
// honoured by the other within the sync interval; MinIO stopped under load
// gives 503s and never a 500, and leaves no corrupt local copy; with one
// sidecar killed every request is still answered.
func TestStackS3SeveralSidecars(t *testing.T) {
	needStack(t)
	srv := miniotest.Start(t)
	a := start(t, s3Env(srv, "PICTOR_MEMORY_CACHE_BYTES=0")...)
	b := start(t, s3Env(srv, "PICTOR_MEMORY_CACHE_BYTES=0")...)
	front := startNginx(t, "--no-files", "--upload-rate", "10000r/s",
		"--upstream", strings.TrimPrefix(a.base, "http://"), "--upstream", strings.TrimPrefix(b.base, "http://"))
	via := func(t *testing.T) *instance { in := *a; in.t, in.base = t, front.base; return &in }

	var keys []string
	for i := range 6 {
		keys = append(keys, a.uploadFile(fmt.Sprintf("%s/exif-orientation/Landscape_%d.jpg", corpus, i)))
	}

	t.Run("UploadOnOneTransformOnOther", func(t *testing.T) {
		b.t = t
		if r := b.get(b.signed("w_120", keys[0])); r.status != 200 {
			t.Fatalf("variant through the other sidecar: %d %s", r.status, r.body)
		}
		if n, _ := b.metric("pictor_store_fetches_total"); n != 1 {
			t.Errorf("sidecar b fetched %v originals, want 1", n)
		}
		in := via(t)
		a0, b0 := transforms(t, a), transforms(t, b)
		for w := 100; w < 116; w++ {
			if r := in.get(in.signed(fmt.Sprintf("w_%d", w), keys[1])); r.status != 200 {
				t.Fatalf("through Nginx: %d %s", r.status, r.body)
			}
		}
		if transforms(t, a) == a0 || transforms(t, b) == b0 {
			t.Errorf("16 variants through Nginx: %v on a, %v on b; want both used", transforms(t, a)-a0, transforms(t, b)-b0)
		}
	})

	t.Run("DeleteReachesTheOther", func(t *testing.T) {
		a.t, b.t = t, t
		path := b.signed("w_130", keys[5])
		if r := b.get(path); r.status != 200 {
			t.Fatalf("variant on b: %d", r.status)
		}
		req, _ := http.NewRequest("DELETE", a.base+"/o/"+keys[5], nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if r := a.do(req); r.status != 204 {
			t.Fatalf("DELETE through a: %d %s", r.status, r.body)
		}
		start := time.Now()
		if !waitFor(5*time.Second, func() bool { return b.get(path).status == 404 }) {
			t.Fatalf("b still serves the deleted original's variant 5 s later (sync interval 300 ms)")
		}
		t.Logf("b answered 404 %v after the DELETE", time.Since(start).Round(time.Millisecond))
		if r := b.get("/o/" + keys[5]); r.status != 404 {
			t.Errorf("/o/ on b after the DELETE: %d", r.status)
		}
	})

	t.Run("StoreStoppedUnderLoad", func(t *testing.T) {
		a.t, b.t = t, t
		in := via(t)
		var (
			mu     sync.Mutex
			counts = map[int]int{}
			wg     sync.WaitGroup
		)
		stop := make(chan struct{})
		client := &http.Client{Timeout: 20 * time.Second}
		for g := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					// A new variant each time: it needs the original.
					path := in.signed(fmt.Sprintf("w_%d", 200+g*500+i), keys[2+i%3])
					resp, err := client.Get(front.base + path)
					code := 0
					if err == nil {
						resp.Body.Close()
						code = resp.StatusCode
					}
					mu.Lock()
					counts[code]++
					mu.Unlock()
				}
			})
		}
		time.Sleep(500 * time.Millisecond)
		// Both drop their copies (as eviction would), so that every new
		// variant needs the store.
		for _, k := range keys[2:5] {
			for _, dir := range []string{a.dir, b.dir} {
				os.Remove(filepath.Join(dir, "originals", k[:2], k[2:4], k))
			}
		}
		srv.Stop()
		time.Sleep(3 * time.Second)
		srv.Restart()
		time.Sleep(1500 * time.Millisecond)
		close(stop)
		wg.Wait()
		t.Logf("statuses under load with MinIO stopped for 3 s: %v", counts)
		for code, n := range counts {
			if code != 200 && code != 503 {
				t.Errorf("%d answers with status %d, want only 200 and 503", n, code)
			}
		}
		if counts[200] == 0 || counts[503] == 0 {
			t.Errorf("statuses %v, want both 200s (before and after) and 503s (while MinIO is down)", counts)
		}
		for _, k := range keys[2:5] {
			if r := b.get(b.signed("w_99", k)); r.status != 200 {
				t.Errorf("after MinIO is back, b: %d %s", r.status, r.body)
			}
		}
		if n := checkLocalCopies(t, a.dir) + checkLocalCopies(t, b.dir); n == 0 {
			t.Error("no local copies to check")
		}
		a.alive()
		b.alive()
	})

	t.Run("OneSidecarKilled", func(t *testing.T) {
		in := via(t)
		// The outage's 503s count as failures for Nginx's passive checks
		// (max_fails=2 fail_timeout=5s): both sidecars may still be out of
		// its rotation for a few seconds, answered by Nginx's own 503.
		n := 0
		if !waitFor(10*time.Second, func() bool { n++; return in.get(in.signed(fmt.Sprintf("w_%d", 400+n), keys[0])).status == 200 }) {
			t.Fatal("Nginx did not take the sidecars back within 10 s of MinIO's return")
		}
		a.cmd.Process.Kill()
		a.cmd.Wait()
		for w := 300; w < 316; w++ {
			if r := in.get(in.signed(fmt.Sprintf("w_%d", w), keys[w%5])); r.status != 200 {
				t.Errorf("with a killed, w_%d: %d %s", w, r.status, r.body)
			}
		}
	})
}

// One VM: Nginx and a sidecar under supervisord, originals in MinIO. An
// original uploaded through another sidecar is fetched into this one's
// local copy and Nginx sends it from there (X-Accel-Redirect).
func TestStackS3OneVM(t *testing.T) {
	needStack(t)
	srv := miniotest.Start(t)
	s := startStack(t, s3Env(srv))
	other := start(t, s3Env(srv)...)
	key := other.uploadFile("../testdata/sample.jpg")
	body, _ := os.ReadFile("../testdata/sample.jpg")
	r := s.get("/o/" + key)
	if r.status != 200 || string(r.body) != string(body) {
		t.Fatalf("/o/ through the stack: %d, %d bytes; want 200 and the upload", r.status, len(r.body))
	}
	if err := checkOriginal(key, r.header, r.body); err != nil {
		t.Error(err)
	}
	if n := checkLocalCopies(t, s.dir); n != 1 {
		t.Errorf("%d local copies in the stack's data directory, want 1", n)
	}
	if r := s.get(s.signed("w_100", key)); r.status != 200 {
		t.Errorf("variant through the stack: %d", r.status)
	}
}
