package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// frontNginx is an Nginx started directly (no supervisord) from a rendered
// configuration, in front of sidecars elsewhere.
type frontNginx struct {
	base string
	cmd  *exec.Cmd
	out  bytes.Buffer
}

func startNginx(t *testing.T, renderArgs ...string) *frontNginx {
	t.Helper()
	needStack(t)
	listen := freeAddr(t)
	conf := render(t, append([]string{"--mode", "local", "--data", t.TempDir(), "--listen", listen}, renderArgs...)...)
	nginxT(t, conf)
	nginx, _ := lookTool("nginx")
	n := &frontNginx{base: "http://" + listen}
	n.cmd = exec.Command(nginx, "-c", filepath.Join(conf, "nginx.conf"), "-e", "stderr")
	n.cmd.Stdout, n.cmd.Stderr = &n.out, &n.out
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { n.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGQUIT) // graceful stop
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Error("nginx did not stop on SIGQUIT")
		}
		if t.Failed() {
			data, _ := os.ReadFile(filepath.Join(filepath.Dir(conf), "log", "nginx-error.log"))
			t.Logf("nginx error log:\n%s", tail(string(data), 3000))
		}
	})
	if !waitFor(10*time.Second, func() bool {
		resp, err := http.Get(n.base + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}) {
		t.Fatalf("nginx did not start listening:\n%s", n.out.String())
	}
	return n
}

// transforms is how many /t/ requests a sidecar has answered.
func transforms(t *testing.T, in *instance) float64 {
	t.Helper()
	n, err := in.metric("pictor_http_requests_total", `route="transform"`)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func uploads(t *testing.T, in *instance) float64 {
	t.Helper()
	n, err := in.metric("pictor_http_requests_total", `route="upload"`)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Several sidecars behind one Nginx, as docs/operations.md describes:
// `hash $request_uri consistent` sends each variant URL to one sidecar
// every time; the proxy_cache layer with proxy_cache_lock lets one request
// of many identical ones through; a POST is never sent to a second
// sidecar when the first fails, while a GET is.
func TestStackSeveralSidecars(t *testing.T) {
	needStack(t)
	// Two sidecars over TCP sharing one originals directory (the shared
	// store a multi-node deployment needs), sending originals themselves:
	// the front Nginx cannot see their disks.
	shared := t.TempDir()
	a := start(t, "PICTOR_DATA_DIR="+shared, "PICTOR_MEMORY_CACHE_BYTES=0")
	b := start(t, "PICTOR_DATA_DIR="+shared, "PICTOR_MEMORY_CACHE_BYTES=0")
	sidecars := []string{"--no-files", "--upload-rate", "10000r/s",
		"--upstream", strings.TrimPrefix(a.base, "http://"), "--upstream", strings.TrimPrefix(b.base, "http://")}
	plain := startNginx(t, sidecars...)
	cached := startNginx(t, append(sidecars, "--proxy-cache", filepath.Join(t.TempDir(), "proxy"))...)

	key := a.uploadFile("../testdata/sample.jpg")
	// via sends requests through the plain Nginx, failing t.
	via := func(t *testing.T) *instance { in := *a; in.t, in.base = t, plain.base; return &in }

	t.Run("ConsistentHash", func(t *testing.T) {
		in := via(t)
		onA, onB := 0, 0
		for w := 100; w < 116; w++ {
			path := a.signed(fmt.Sprintf("w_%d,f_jpeg", w), key)
			a0, b0 := transforms(t, a), transforms(t, b)
			for range 3 {
				if r := in.get(path); r.status != 200 {
					t.Fatalf("GET %s: %d %s", path, r.status, r.body)
				}
			}
			da, db := transforms(t, a)-a0, transforms(t, b)-b0
			switch {
			case da == 3 && db == 0:
				onA++
			case da == 0 && db == 3:
				onB++
			default:
				t.Errorf("%s three times: %v on one sidecar, %v on the other; want all 3 on one", path, da, db)
			}
		}
		if onA == 0 || onB == 0 {
			t.Errorf("16 variants: %d on one sidecar, %d on the other; want both used", onA, onB)
		}
	})

	t.Run("ProxyCacheLock", func(t *testing.T) {
		path := a.signed("w_640,f_avif,q_90", key) // slow enough for the others to queue behind it
		before := transforms(t, a) + transforms(t, b)
		const n = 8
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			bodies = map[string]int{}
			status = map[string]int{}
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(cached.base + path)
				if err != nil {
					t.Error(err)
					return
				}
				var body bytes.Buffer
				body.ReadFrom(resp.Body)
				resp.Body.Close()
				mu.Lock()
				defer mu.Unlock()
				if resp.StatusCode != 200 {
					t.Errorf("GET %s: %d", path, resp.StatusCode)
				}
				bodies[body.String()]++
				status[resp.Header.Get("X-Proxy-Cache")]++
			}()
		}
		wg.Wait()
		if got := transforms(t, a) + transforms(t, b) - before; got != 1 {
			t.Errorf("%d identical concurrent requests reached the sidecars %v times, want 1 (proxy_cache_lock)", n, got)
		}
		if len(bodies) != 1 || status["MISS"] != 1 || status["HIT"] != n-1 {
			t.Errorf("%d answers: %d different bodies, X-Proxy-Cache %v; want one body, 1 MISS and %d HIT", n, len(bodies), status, n-1)
		}
	})

	t.Run("PostNeverRetried", func(t *testing.T) {
		in := via(t)
		// Which upload URIs (the query string counts in the hash) go to a.
		var toA []string
		for i := 0; len(toA) < 1 && i < 40; i++ {
			uri := fmt.Sprintf("/upload?n=%d", i)
			a0 := uploads(t, a)
			req := uploadRequest(plain.base, uniquePNG(1000+i))
			req.URL.RawQuery = fmt.Sprintf("n=%d", i)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 201 {
				t.Fatalf("POST %s: %v %v", uri, resp, err)
			}
			resp.Body.Close()
			if uploads(t, a) > a0 {
				toA = append(toA, uri)
			}
		}
		// And a variant that goes to a.
		var getA string
		for w := 200; getA == "" && w < 240; w++ {
			path := a.signed(fmt.Sprintf("w_%d,f_jpeg", w), key)
			a0 := transforms(t, a)
			in.get(path)
			if transforms(t, a) > a0 {
				getA = path
			}
		}
		if len(toA) == 0 || getA == "" {
			t.Fatal("no upload URI or variant hashed to the first sidecar")
		}

		a.cmd.Process.Kill() // a stops answering: connections are refused
		a.cmd.Wait()
		b0 := uploads(t, b)
		req := uploadRequest(plain.base, uniquePNG(5000))
		req.URL.RawQuery = strings.TrimPrefix(toA[0], "/upload?")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("X-Served-By") != "nginx" || uploads(t, b) != b0 {
			t.Errorf("POST %s with its sidecar down: %d, %v uploads on the other; want Nginx's 503 and none", toA[0], resp.StatusCode, uploads(t, b)-b0)
		}
		t0 := transforms(t, b)
		if r := in.get(getA); r.status != 200 || transforms(t, b) != t0+1 {
			t.Errorf("GET %s with its sidecar down: %d, %v on the other; want 200 from the other", getA, r.status, transforms(t, b)-t0)
		}
	})
}
