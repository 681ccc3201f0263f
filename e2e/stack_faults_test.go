package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// uniquePNG is a small PNG whose bytes depend on i: each upload of a load
// run stores a new original.
func uniquePNG(i int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 24, 16))
	for y := range 16 {
		for x := range 24 {
			img.Set(x, y, color.NRGBA{uint8(i), uint8(i >> 8), uint8(x * 10), 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// uploadRequest is a multipart upload of body, for a load run.
func uploadRequest(base string, body []byte) *http.Request {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "load.png")
	fw.Write(body)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// variantTarget is a signed variant URL and the width it must have.
type variantTarget struct {
	path  string
	width int
}

// stackTargets are the requests of a load run on s: an original, variants
// (fetched once before the fault), and uploads of new originals. Every 2xx
// is checked against what it must be; uploaded collects the keys of
// stored uploads.
func stackTargets(t *testing.T, s *stack, key string, variants []variantTarget, uploaded *sync.Map) []loadTarget {
	t.Helper()
	for _, v := range variants {
		r := s.get(v.path)
		if r.status != 200 {
			t.Fatalf("GET %s before the fault: %d %s", v.path, r.status, r.body)
		}
		if err := checkVariant(v.path, r.header, r.body, v.width); err != nil {
			t.Fatal(err)
		}
	}
	get := func(path string) func(int) *http.Request {
		return func(int) *http.Request { req, _ := http.NewRequest("GET", s.base+path, nil); return req }
	}
	targets := []loadTarget{{
		name:  "original",
		req:   get("/o/" + key),
		check: func(_ int, h http.Header, body []byte) error { return checkOriginal(key, h, body) },
	}, {
		name: "upload",
		req:  func(i int) *http.Request { return uploadRequest(s.base, uniquePNG(i)) },
		check: func(i int, _ http.Header, body []byte) error {
			var u struct{ Key string }
			if err := json.Unmarshal(body, &u); err != nil {
				return fmt.Errorf("upload answer %q: %v", body, err)
			}
			if want := sha256Key(uniquePNG(i), ".png"); u.Key != want {
				return fmt.Errorf("upload %d stored as %s, want %s", i, u.Key, want)
			}
			uploaded.Store(u.Key, true)
			return nil
		},
	}}
	for _, v := range variants {
		targets = append(targets, loadTarget{
			name:  v.path,
			req:   get(v.path),
			check: func(_ int, h http.Header, body []byte) error { return checkVariant(v.path, h, body, v.width) },
		})
	}
	return targets
}

// checkStored fetches every uploaded original through Nginx, and reads
// every file under originals/ on disk: each must hash to its name. A crash
// may lose an upload, never leave half of one.
func checkStored(t *testing.T, s *stack, uploaded *sync.Map) {
	t.Helper()
	n := 0
	uploaded.Range(func(k, _ any) bool {
		key := k.(string)
		r := s.get("/o/" + key)
		if r.status != 200 {
			t.Errorf("uploaded %s: %d after the fault", key, r.status)
		} else if err := checkOriginal(key, r.header, r.body); err != nil {
			t.Error(err)
		}
		n++
		return true
	})
	files := 0
	filepath.WalkDir(filepath.Join(s.dir, "originals"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Error(err)
			return nil
		}
		sum := sha256.Sum256(b)
		if name := d.Name(); !strings.HasPrefix(name, hex.EncodeToString(sum[:])) {
			t.Errorf("originals/…/%s holds %d bytes that hash to %x", name, len(b), sum)
		}
		files++
		return nil
	})
	t.Logf("%d uploads acknowledged, %d originals on disk, all whole", n, files)
}

// summarize logs a load run's counts by target and status.
func summarize(t *testing.T, outcomes []outcome) {
	counts := map[string]int{}
	for _, o := range outcomes {
		name := o.target
		if len(name) > 24 {
			name = name[:24] + "…"
		}
		label := fmt.Sprintf("%s %d", name, o.status)
		if o.status == 0 {
			label = name + " no answer"
		}
		counts[label]++
	}
	t.Logf("%d requests: %v", len(outcomes), counts)
}

// kill -9 of the sidecar under load: supervisord starts a new one within
// 2 s, requests succeed again, and no answer ever carries wrong bytes.
// The memory tier is off, so variants are made again after the restart
// (or come from the disk tier, once there is one, and must be whole).
func TestStackKill9UnderLoad(t *testing.T) {
	// The load sends uploads far above the per-client upload rate.
	s := startStack(t, []string{"PICTOR_MEMORY_CACHE_BYTES=0"}, "--upload-rate", "10000r/s", "--upload-burst", "10000")
	key := s.uploadFile("../testdata/sample.jpg")
	pngKey := s.uploadFile("../testdata/alpha.png")
	variants := []variantTarget{{s.signed("w_120,f_webp", key), 120}, {s.signed("w_160,f_jpeg", key), 160}, {s.signed("w_90,f_png", pngKey), 90}}
	var uploaded sync.Map
	targets := stackTargets(t, s, key, variants, &uploaded)

	stop := make(chan struct{})
	done := make(chan []outcome, 1)
	go func() { done <- runLoad(s.client, 6, targets, stop) }()
	time.Sleep(800 * time.Millisecond)

	old := s.pid("pictor")
	if old == 0 {
		t.Fatal("supervisord reports no pid for pictor")
	}
	killed := time.Now()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var restarted, recovered time.Duration
	if !waitFor(10*time.Second, func() bool {
		p := s.pid("pictor")
		return p != 0 && p != old
	}) {
		t.Fatal("supervisord did not start a new sidecar within 10 s")
	}
	restarted = time.Since(killed)
	if !waitFor(10*time.Second, s.sidecarAnswers) {
		t.Fatal("Nginx did not reach a sidecar within 10 s of the kill")
	}
	recovered = time.Since(killed)
	recoveredAt := time.Now()
	time.Sleep(1500 * time.Millisecond) // load on the new sidecar
	close(stop)
	outcomes := <-done

	t.Logf("kill -9 → new pid after %v, requests through Nginx answered again after %v", restarted.Round(time.Millisecond), recovered.Round(time.Millisecond))
	if recovered > 2*time.Second {
		t.Errorf("the sidecar was back after %v, want within 2 s", recovered)
	}
	summarize(t, outcomes)
	after := map[string]int{}
	for _, o := range outcomes {
		switch {
		case o.corrupt():
			t.Errorf("served wrong bytes: %v", o)
		case o.failed() && o.start.After(recoveredAt):
			t.Errorf("failed after the recovery: %v", o)
		case o.failed() && o.end.Before(killed):
			t.Errorf("failed before the kill: %v", o)
		case o.failed() && o.status != 0 && !(o.status == 503 && o.nginxError):
			// While no sidecar runs, Nginx answers 503 + Retry-After; a
			// request cut by the kill itself may have no answer at all.
			t.Errorf("during the outage, want Nginx's 503 or a cut connection: %v", o)
		case !o.failed() && o.start.After(recoveredAt):
			after[o.target]++
		}
	}
	for _, tg := range targets {
		if after[tg.name] == 0 {
			t.Errorf("no %s succeeded after the recovery", tg.name)
		}
	}
	checkStored(t, s, &uploaded)
	if !strings.Contains(readFile(t, filepath.Join(s.dir, "log", "supervisord.log")), "exited: pictor (terminated by SIGKILL; not expected)") {
		t.Error("supervisord's log does not show the kill")
	}
}

// SIGTERM under load (supervisorctl restart, as a deploy does): every
// request the sidecar had accepted when the signal came, running or
// queued for a worker, gets its 200 with the right bytes; the sidecar exits
// 0 before stopwaitsecs; a new one takes over. Requests that arrive while
// no sidecar accepts get a clean 503 from Nginx or the draining sidecar.
func TestStackSIGTERMUnderLoad(t *testing.T) {
	// A loaded machine must not turn the slow requests into deadline 503s.
	s := startStack(t, []string{"PICTOR_WORKERS=2"}, "--timeout", "30", "--upload-rate", "10000r/s", "--upload-burst", "10000")
	key := s.uploadFile("../testdata/sample.jpg")
	variants := []variantTarget{{s.signed("w_120,f_webp", key), 120}, {s.signed("w_160,f_jpeg", key), 160}}
	var uploaded sync.Map
	targets := stackTargets(t, s, key, variants, &uploaded)

	// Slow variants: big AVIF with a heavy blur, a second or more each.
	// Three of them with two workers: two run, one waits for a worker, so
	// the drain lasts about two of them. At 3000 px that came to 16 s on
	// 2 busy cores, past the 15 s drain; 2400 px still takes seconds each.
	slow := []string{
		s.signed("w_2400,f_avif,q_90,e_blur:20", key),
		s.signed("w_2300,f_avif,q_90,e_blur:20", key),
		s.signed("w_2200,f_avif,q_90,e_blur:20", key),
	}
	stop := make(chan struct{})
	done := make(chan []outcome, 1)
	go func() { done <- runLoad(s.client, 4, targets, stop) }()

	type slowResult struct {
		path string
		r    result
		err  error
	}
	slowDone := make(chan slowResult, len(slow))
	for _, p := range slow {
		go func() {
			resp, err := s.client.Get(s.base + p)
			if err != nil {
				slowDone <- slowResult{path: p, err: err}
				return
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, err = b.ReadFrom(resp.Body)
			slowDone <- slowResult{p, result{resp.StatusCode, resp.Header, b.Bytes()}, err}
		}()
	}
	// In flight means inside the sidecar: holding a worker or waiting for one.
	if !waitFor(10*time.Second, func() bool {
		running, err1 := s.metric("pictor_workers_running")
		waiting, err2 := s.metric("pictor_workers_waiting")
		return err1 == nil && err2 == nil && running+waiting >= float64(len(slow))
	}) {
		t.Fatal("the slow requests did not all reach the sidecar within 10 s")
	}
	old := s.pid("pictor")
	termed := time.Now()
	restart := make(chan string, 1)
	go func() { out, err := s.ctl("restart", "pictor"); restart <- fmt.Sprint(out, err) }()

	for range slow {
		sr := <-slowDone
		switch {
		case sr.err != nil:
			t.Errorf("in flight at SIGTERM, %s: %v", sr.path, sr.err)
		case sr.r.status != 200:
			t.Errorf("in flight at SIGTERM, %s: %d %s", sr.path, sr.r.status, sr.r.body)
		default:
			if err := checkVariant(sr.path, sr.r.header, sr.r.body, 0); err != nil {
				t.Error(err)
			}
			if sr.r.header.Get("Content-Type") != "image/avif" {
				t.Errorf("%s: Content-Type %q", sr.path, sr.r.header.Get("Content-Type"))
			}
		}
	}
	t.Logf("the in-flight requests finished %v after SIGTERM", time.Since(termed).Round(time.Millisecond))
	if out := <-restart; !strings.Contains(out, "pictor: stopped") || !strings.Contains(out, "pictor: started") {
		t.Errorf("supervisorctl restart pictor: %s", out)
	}
	if !waitFor(10*time.Second, func() bool { p := s.pid("pictor"); return p != 0 && p != old && s.sidecarAnswers() }) {
		t.Fatal("no new sidecar answering within 10 s of the restart")
	}
	back := time.Now()
	time.Sleep(time.Second)
	close(stop)
	outcomes := <-done
	summarize(t, outcomes)

	for _, o := range outcomes {
		switch {
		case o.corrupt():
			t.Errorf("served wrong bytes: %v", o)
		case o.status == 0:
			// Nginx buffers whole answers and the sidecar finishes what it
			// started: no request is cut off by a graceful stop.
			t.Errorf("no answer: %v", o)
		case o.failed() && (o.end.Before(termed) || o.start.After(back)):
			t.Errorf("failed outside the restart: %v", o)
		case o.failed() && o.status != 503:
			t.Errorf("during the restart, want 503 (draining or no sidecar): %v", o)
		}
	}

	// The sidecar drained and exited 0 (not SIGKILLed at stopwaitsecs),
	// and the slow requests' log lines come after the drain began.
	sup := readFile(t, filepath.Join(s.dir, "log", "supervisord.log"))
	if !strings.Contains(sup, "stopped: pictor (exit status 0)") {
		t.Errorf("supervisord did not see a clean exit:\n%s", tail(sup, 1500))
	}
	log := s.sidecarLog()
	drain := strings.Index(log, "msg=draining")
	for _, p := range slow {
		if i := strings.Index(log, "path="+p+" status=200"); drain < 0 || i < drain {
			t.Errorf("%s did not finish during the drain (drain at %d, request at %d)", p, drain, i)
		}
	}
	checkStored(t, s, &uploaded)
}
