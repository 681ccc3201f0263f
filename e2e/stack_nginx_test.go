package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every way deploy/render.sh is used renders a configuration that real
// Nginx accepts (nginx -t) and real supervisord parses, and the numbers
// that must agree between Nginx, supervisord and the sidecar do.
func TestStackConfigs(t *testing.T) {
	needStack(t)
	d := t.TempDir()
	cases := []struct {
		name string
		args []string
	}{
		{"local", []string{"--mode", "local", "--data", d + "/local"}},
		{"local, other ports and limits", []string{"--mode", "local", "--data", d + "/ports",
			"--listen", "127.0.0.1:18080", "--admin", "127.0.0.1:19191", "--max-upload-mib", "20",
			"--drain-timeout", "30", "--timeout", "25", "--header-timeout", "5s"}},
		{"local with proxy cache", []string{"--mode", "local", "--data", d + "/cache",
			"--proxy-cache", d + "/cache/proxy"}},
		{"several sidecars elsewhere", []string{"--mode", "local", "--data", d + "/lb", "--no-files",
			"--upstream", "10.0.0.2:8081", "--upstream", "10.0.0.3:8081", "--upstream", "10.0.0.4:8081",
			"--proxy-cache", d + "/lb/proxy"}},
		// System mode as deploy/install.sh renders it, with its directories
		// moved under the test's and users that exist on every Debian
		// machine (install.sh creates pictor; nginx -t and supervisord
		// both look users up).
		{"system", []string{"--mode", "system", "--conf", d + "/sys/etc", "--data", d + "/sys/data",
			"--run", d + "/sys/run", "--log", d + "/sys/log", "--nginx-tmp", d + "/sys/tmp",
			"--user", "nobody", "--nginx-user", "www-data nogroup"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf := render(t, c.args...)
			nginxT(t, conf)
			supervisorParses(t, conf)
			site := readFile(t, filepath.Join(conf, "pictor.conf"))
			sup := readFile(t, filepath.Join(conf, "supervisord.conf"))

			// The upload limit is one number for Nginx and the sidecar.
			m := regexp.MustCompile(`location = /upload \{[^}]*client_max_body_size (\d+)m;`).FindStringSubmatch(site)
			n := regexp.MustCompile(`PICTOR_MAX_UPLOAD_BYTES="(\d+)MiB"`).FindStringSubmatch(sup)
			if m == nil || n == nil || m[1] != n[1] {
				t.Errorf("upload limit: Nginx %v, sidecar %v: want the same MiB", m, n)
			}
			// Resumable uploads: the same limit, chunks streamed through.
			f := regexp.MustCompile(`location /files/ \{[^}]*client_max_body_size (\d+)m;[^}]*proxy_request_buffering off;`).FindStringSubmatch(site)
			if f == nil || n == nil || f[1] != n[1] {
				t.Errorf("resumable upload limit: Nginx %v, sidecar %v: want the same MiB, unbuffered", f, n)
			}
			// Nginx waits longer for an answer than the sidecar's deadline.
			deadline := regexp.MustCompile(`PICTOR_TIMEOUT="(\d+)s"`).FindStringSubmatch(sup)
			read := regexp.MustCompile(`(?m)^    proxy_read_timeout (\d+)s;`).FindStringSubmatch(site)
			if deadline == nil || read == nil || atoi(t, read[1]) <= atoi(t, deadline[1]) {
				t.Errorf("sidecar deadline %v, Nginx proxy_read_timeout %v: want Nginx's longer", deadline, read)
			}
			// supervisord waits longer than the sidecar drains.
			drain := regexp.MustCompile(`PICTOR_DRAIN_TIMEOUT="(\d+)s"`).FindStringSubmatch(sup)
			wait := regexp.MustCompile(`(?s)\[program:pictor\].*?stopwaitsecs=(\d+)`).FindStringSubmatch(sup)
			if drain == nil || wait == nil || atoi(t, wait[1]) <= atoi(t, drain[1]) {
				t.Errorf("drain %v, stopwaitsecs %v: want stopwaitsecs > drain", drain, wait)
			}
			for _, want := range []string{"stopsignal=TERM", "autorestart=true", "startsecs=", "startretries=", "stdout_logfile_maxbytes="} {
				if !strings.Contains(sup, want) {
					t.Errorf("supervisord.conf lacks %s", want)
				}
			}
			several := strings.Count(site, "    server ") > 1
			if hashed := strings.Contains(site, "hash $pictor_upstream_key consistent;"); hashed != several {
				t.Errorf("consistent hash on $pictor_upstream_key ($request_uri but one key for /files/): %v, with several sidecars: %v", hashed, several)
			}
		})
	}
	// The defaults are the documented ones.
	conf := render(t, "--mode", "local", "--data", d+"/defaults")
	site := readFile(t, filepath.Join(conf, "pictor.conf"))
	for _, want := range []string{"listen 127.0.0.1:8080;", "client_header_timeout 10s;", "client_max_body_size 50m;",
		"server unix:" + d + "/defaults/run/pictor.sock;", "proxy_request_buffering off;", "proxy_next_upstream off;"} {
		if !strings.Contains(site, want) {
			t.Errorf("default pictor.conf lacks %q", want)
		}
	}
}

// render.sh refuses values that would break the configs or the socket.
func TestStackRenderRefuses(t *testing.T) {
	d := t.TempDir()
	for _, args := range [][]string{
		{"--mode", "cloud"},
		{"--data", d, "--listen", "127.0.0.1:8080; include /etc/passwd"},
		{"--data", d, "--socket", "/" + strings.Repeat("s", 120) + ".sock"},
		{"--data", d, "--header-timeout", "soon"},
		{"--data", d, "--max-upload-mib", "0"},
		{"--data", d, "--data", d + "/100%"},
		{"--data", d, "--bogus", "1"},
	} {
		cmd := exec.Command("bash", append([]string{"../deploy/render.sh"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("render.sh %q succeeded, want a refusal\n%s", args, out)
		} else if !strings.HasPrefix(string(out), "render: ") {
			t.Errorf("render.sh %q: %v, want a message starting render:\n%s", args, err, out)
		}
	}
}

// supervisorParses loads a rendered supervisord.conf with supervisord's own
// option parser (with the interpreter supervisord runs on): every program
// section and value must be valid.
func supervisorParses(t *testing.T, conf string) {
	t.Helper()
	sd, _ := lookTool("supervisord")
	first, _ := bufio.NewReader(strings.NewReader(readFile(t, sd))).ReadString('\n')
	python := strings.TrimSpace(strings.TrimPrefix(first, "#!"))
	script := `import sys
from supervisor.options import ServerOptions
o = ServerOptions()
o.realize(args=["-c", sys.argv[1]])
print(",".join(sorted(p.name for g in o.process_group_configs for p in g.process_configs)))`
	out, err := exec.Command(python, "-c", script, filepath.Join(conf, "supervisord.conf")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "nginx,pictor" {
		t.Fatalf("supervisord does not accept %s/supervisord.conf: %v\n%s", conf, err, out)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// curl runs the real curl with args and returns its standard output.
func curl(t testing.TB, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("curl", append([]string{"-sS"}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

// headerBlock parses the response headers curl -D wrote (the last block,
// after any 100 Continue).
func headerBlock(t testing.TB, raw string) (int, http.Header) {
	t.Helper()
	blocks := strings.Split(strings.TrimSpace(strings.ReplaceAll(raw, "\r\n", "\n")), "\n\n")
	last := blocks[len(blocks)-1]
	lines := strings.Split(last, "\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 {
		t.Fatalf("no status line in %q", raw)
	}
	h := http.Header{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if ok {
			h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return atoi(t, f[1]), h
}

// securityHeaders reports the first of Nginx's security headers that is
// missing or repeated.
func securityHeaders(h http.Header) error {
	for _, k := range []string{"X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options",
		"Referrer-Policy", "Cross-Origin-Resource-Policy"} {
		if n := len(h.Values(k)); n != 1 {
			return fmt.Errorf("%s appears %d times, want once: %q", k, n, h.Values(k))
		}
	}
	return nil
}

// One stack, many checks: an upload, a transform and an original through
// Nginx, and the rendered config against real clients.
func TestStackThroughNginx(t *testing.T) {
	s := startStack(t, nil, "--header-timeout", "3s")
	sample, err := os.ReadFile("../testdata/sample.jpg")
	if err != nil {
		t.Fatal(err)
	}
	key := s.uploadKey("sample.jpg", sample)
	orig := "/o/" + key
	variant := s.signed("w_400,f_webp", key)
	on := func(t *testing.T) *instance { c := *s.instance; c.t = t; return &c }

	t.Run("UploadTransformOriginal", func(t *testing.T) {
		in := on(t)
		// A raw-body upload with curl, through Nginx.
		out := curl(t, "-w", "\n%{http_code}", "-H", "Authorization: Bearer "+token,
			"-H", "Content-Type: image/png", "--data-binary", "@../testdata/alpha.png", s.base+"/upload")
		i := strings.LastIndexByte(out, '\n')
		body, code := out[:i], out[i+1:]
		var up struct{ Key string }
		if (code != "201" && code != "200") || json.Unmarshal([]byte(body), &up) != nil || !strings.HasSuffix(up.Key, ".png") {
			t.Fatalf("curl upload: %s %s", code, body)
		}

		// The transform: made by the sidecar, passed on by Nginx.
		r := in.get(variant)
		if r.status != 200 || r.header.Get("Content-Type") != "image/webp" || r.header.Get("X-Cache") != "miss" {
			t.Fatalf("GET %s: %d %v %s", variant, r.status, r.header, r.body)
		}
		if err := checkVariant(variant, r.header, r.body, 400); err != nil {
			t.Error(err)
		}
		if w := decode(t, r.body).Bounds().Dx(); w != 400 {
			t.Errorf("variant is %d px wide, want 400", w)
		}
		if r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || r.header.Get("ETag") == "" {
			t.Errorf("variant headers: %v", r.header)
		}
		if err := securityHeaders(r.header); err != nil {
			t.Errorf("variant: %v", err)
		}
		r2 := in.get(variant)
		if r2.status != 200 || r2.header.Get("X-Cache") != "memory" || !bytes.Equal(r2.body, r.body) || r2.header.Get("ETag") != r.header.Get("ETag") {
			t.Errorf("second GET %s: %d X-Cache=%q", variant, r2.status, r2.header.Get("X-Cache"))
		}

		// The original: sent by Nginx's internal location, with the
		// sidecar's headers.
		o := in.get(orig)
		if o.status != 200 || !bytes.Equal(o.body, sample) {
			t.Fatalf("GET %s: %d, %d bytes, want the %d uploaded", orig, o.status, len(o.body), len(sample))
		}
		if err := checkOriginal(key, o.header, o.body); err != nil {
			t.Error(err)
		}
		want := map[string]string{
			"Content-Type":   "image/jpeg",
			"Cache-Control":  "public, max-age=31536000, immutable",
			"ETag":           `"` + strings.TrimSuffix(key, ".jpg") + `"`,
			"Content-Length": strconv.Itoa(len(sample)),
			"Accept-Ranges":  "bytes",
		}
		for k, v := range want {
			if got := o.header.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("original %s: %q, want %q once", k, got, v)
			}
		}
		if o.header.Get("Last-Modified") != "" {
			t.Errorf("original has Last-Modified %q: the ETag is the only validator", o.header.Get("Last-Modified"))
		}
		if err := securityHeaders(o.header); err != nil {
			t.Errorf("original: %v", err)
		}
		// The sidecar answered that request with no body at all (its log
		// reaches the file through supervisord, a moment later).
		if !waitFor(3*time.Second, func() bool { return strings.Contains(s.sidecarLog(), "path="+orig+" status=200 bytes=0 ") }) {
			t.Errorf("the sidecar's log has no bodiless 200 for %s:\n%s", orig, tail(s.sidecarLog(), 2000))
		}
		// curl sees the same.
		file := filepath.Join(t.TempDir(), "original.jpg")
		_, h := headerBlock(t, curl(t, "-D", "-", "-o", file, s.base+orig))
		if got, _ := os.ReadFile(file); !bytes.Equal(got, sample) || h.Get("X-Served-By") != "nginx-originals" {
			t.Errorf("curl %s: %d bytes, X-Served-By %q", orig, len(got), h.Get("X-Served-By"))
		}
		// HEAD: the length, no body.
		req, _ := http.NewRequest("HEAD", s.base+orig, nil)
		hr := in.do(req)
		if hr.status != 200 || len(hr.body) != 0 || hr.header.Get("Content-Length") != strconv.Itoa(len(sample)) {
			t.Errorf("HEAD %s: %d, %d bytes, Content-Length %q", orig, hr.status, len(hr.body), hr.header.Get("Content-Length"))
		}
	})

	t.Run("RangeOnOriginal", func(t *testing.T) {
		in := on(t)
		file := filepath.Join(t.TempDir(), "part")
		raw := curl(t, "-D", "-", "-r", "0-99", "-o", file, s.base+orig)
		code, h := headerBlock(t, raw)
		got, _ := os.ReadFile(file)
		if code != 206 || !bytes.Equal(got, sample[:100]) {
			t.Fatalf("curl -r 0-99: %d, %d bytes\n%s", code, len(got), raw)
		}
		if h.Get("Content-Range") != fmt.Sprintf("bytes 0-99/%d", len(sample)) || h.Get("X-Served-By") != "nginx-originals" {
			t.Errorf("curl -r 0-99 headers:\n%s", raw)
		}
		// The whole-file digest would be false for a part.
		if h.Get("Content-Digest") != "" {
			t.Errorf("206 carries Content-Digest %q", h.Get("Content-Digest"))
		}
		for _, c := range []struct {
			rng    string
			status int
			body   []byte
		}{
			{"bytes=-50", 206, sample[len(sample)-50:]},
			{"bytes=1000-1999", 206, sample[1000:2000]},
			{fmt.Sprintf("bytes=%d-", len(sample)), 416, nil},
		} {
			req, _ := http.NewRequest("GET", s.base+orig, nil)
			req.Header.Set("Range", c.rng)
			r := in.do(req)
			if r.status != c.status || (c.body != nil && !bytes.Equal(r.body, c.body)) {
				t.Errorf("Range %s: %d, %d bytes, want %d", c.rng, r.status, len(r.body), c.status)
			}
		}
	})

	t.Run("IfNoneMatch304", func(t *testing.T) {
		in := on(t)
		for _, path := range []string{orig, variant} {
			first := in.get(path)
			etag := first.header.Get("ETag")
			if first.status != 200 || etag == "" {
				t.Fatalf("GET %s: %d ETag %q", path, first.status, etag)
			}
			req, _ := http.NewRequest("GET", s.base+path, nil)
			req.Header.Set("If-None-Match", etag)
			r := in.do(req)
			if r.status != 304 || len(r.body) != 0 || r.header.Get("ETag") != etag {
				t.Errorf("If-None-Match %s on %s: %d, %d bytes, ETag %q; want 304", etag, path, r.status, len(r.body), r.header.Get("ETag"))
			}
			code := curl(t, "-o", "/dev/null", "-w", "%{http_code}", "-H", "If-None-Match: "+etag, s.base+path)
			if code != "304" {
				t.Errorf("curl If-None-Match on %s: %s, want 304", path, code)
			}
			req.Header.Set("If-None-Match", `"something-else"`)
			if r := in.do(req); r.status != 200 || !bytes.Equal(r.body, first.body) {
				t.Errorf("another ETag on %s: %d, want 200 and the bytes", path, r.status)
			}
		}
	})

	t.Run("CurlHTTP11Keepalive", func(t *testing.T) {
		// Three transfers in one curl: the first connects, the others reuse.
		out := curl(t, "--http1.1", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
			"-w", "%{http_version} %{http_code} %{num_connects}\n", s.base+orig, s.base+variant, s.base+orig)
		if want := "1.1 200 1\n1.1 200 0\n1.1 200 0\n"; out != want {
			t.Errorf("curl --http1.1, three requests:\n%swant\n%s", out, want)
		}
		raw := curl(t, "--http1.1", "-D", "-", "-o", "/dev/null", s.base+orig)
		if _, h := headerBlock(t, raw); h.Get("Connection") != "keep-alive" {
			t.Errorf("Connection: %q, want keep-alive", h.Get("Connection"))
		}
		// And Go's client reuses its connection too.
		reused := 0
		for range 3 {
			req, _ := http.NewRequest("GET", s.base+orig, nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(i httptrace.GotConnInfo) {
					if i.Reused {
						reused++
					}
				},
			}))
			on(t).do(req)
		}
		if reused < 2 {
			t.Errorf("Go's client reused its connection %d times of 3, want >= 2", reused)
		}
	})

	t.Run("TrickledHeadersCutOff", func(t *testing.T) {
		// One header byte every 300 ms: every read is well within any
		// per-read timeout, but the whole header never is. Nginx's
		// client_header_timeout (3 s here, 10 s by default) is for the
		// whole header.
		conn, err := net.Dial("tcp", s.listen)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nX-Slow: ", orig, s.listen)
		cut := make(chan time.Duration, 1)
		go func() {
			io.Copy(io.Discard, conn) // returns when Nginx closes or resets
			cut <- time.Since(start)
		}()
		for i := 0; ; i++ {
			select {
			case d := <-cut:
				if d < 2500*time.Millisecond || d > 8*time.Second {
					t.Errorf("cut off after %v, want about 3 s (client_header_timeout)", d)
				}
				return
			case <-time.After(300 * time.Millisecond):
			}
			if i > 60 {
				t.Fatal("a client trickling its headers for 18 s was not cut off")
			}
			if _, err := conn.Write([]byte("a")); err != nil {
				if d := time.Since(start); d < 2500*time.Millisecond {
					t.Errorf("write failed after %v: %v", d, err)
				}
				return
			}
		}
	})

	t.Run("UploadOver50MiB413", func(t *testing.T) {
		in := on(t)
		big := filepath.Join(t.TempDir(), "big.jpg")
		data := make([]byte, 60<<20)
		copy(data, sample) // starts like a JPEG
		if err := os.WriteFile(big, data, 0o644); err != nil {
			t.Fatal(err)
		}
		uploadsBefore := strings.Count(s.sidecarLog(), "path=/upload ")
		// With Content-Length: refused before a byte of the body is read.
		answer := filepath.Join(t.TempDir(), "answer")
		raw := curl(t, "-D", "-", "-o", answer, "-H", "Authorization: Bearer "+token, "-H", "Content-Type: image/jpeg",
			"--data-binary", "@"+big, s.base+"/upload")
		code, h := headerBlock(t, raw)
		if body := readFile(t, answer); code != 413 || h.Get("X-Served-By") != "nginx" || !strings.Contains(body, `"status":413`) {
			t.Errorf("curl 60 MiB upload: %d %s\n%s", code, body, raw)
		}
		// Chunked, no length given: Nginx counts as it streams, and stops
		// it at 50 MiB.
		req, _ := http.NewRequest("POST", s.base+"/upload", io.MultiReader(bytes.NewReader(data)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "image/jpeg")
		resp, err := in.client.Do(req)
		if err != nil {
			t.Fatalf("chunked 60 MiB upload: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || resp.Header.Get("X-Served-By") != "nginx" {
			t.Errorf("chunked 60 MiB upload: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		// Just under the limit, the body streams through to the sidecar,
		// which reads it all and judges it (a JPEG header, then noise: 422).
		under := filepath.Join(t.TempDir(), "under.jpg")
		if err := os.WriteFile(under, data[:49<<20], 0o644); err != nil {
			t.Fatal(err)
		}
		raw = curl(t, "-D", "-", "-o", answer, "-H", "Authorization: Bearer "+token, "-H", "Content-Type: image/jpeg",
			"--data-binary", "@"+under, s.base+"/upload")
		if code, h := headerBlock(t, raw); code == 413 || h.Get("X-Served-By") != "" {
			t.Errorf("curl 49 MiB upload: %d from %q, want the sidecar's answer\n%s", code, h.Get("X-Served-By"), readFile(t, answer))
		}
		// The sidecar never answered the first; nothing was stored.
		time.Sleep(time.Second) // its log reaches the file through supervisord
		if n := strings.Count(s.sidecarLog(), "path=/upload "); n > uploadsBefore+2 {
			t.Errorf("the sidecar logged %d uploads for the two refused ones and the 49 MiB one", n-uploadsBefore)
		}
		if code := curl(t, "-o", "/dev/null", "-w", "%{http_code}", s.base+"/o/"+sha256Key(data, ".jpg")); code != "404" {
			t.Errorf("the 60 MiB original: %s, want 404 (not stored)", code)
		}
	})

	t.Run("AdminAndInternalNotExposed", func(t *testing.T) {
		in := on(t)
		rel := key[:2] + "/" + key[2:4] + "/" + key
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/",
			"/_pictor/originals/" + rel, "/_pictor/cache/x", "/secrets.env", "/_pictor/secrets.env",
			"/_pictor_errors/404", "/t/../metrics", "/o/%2e%2e/%2e%2e/secrets.env", "/tmp/"} {
			r := in.get(path)
			var e struct {
				Error  string
				Status int
			}
			isJSON := json.Unmarshal(r.body, &e) == nil && e.Status == r.status
			sidecar404 := r.status == 404 && r.header.Get("X-Served-By") == ""
			// 400: a path that climbs above the root does not parse.
			nginxRefused := (r.status == 404 || r.status == 400) && r.header.Get("X-Served-By") == "nginx"
			if !isJSON || (!nginxRefused && !sidecar404) {
				t.Errorf("GET %s through Nginx: %d %q %s, want a JSON 404 (or Nginx's 400)", path, r.status, r.header.Get("X-Served-By"), r.body)
			}
		}
		// The admin listener itself does serve them.
		resp, err := in.client.Get(s.admin + "/metrics")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("admin /metrics: %v %v", resp, err)
		}
		resp.Body.Close()
	})

	t.Run("GzipForJSONOnly", func(t *testing.T) {
		in := on(t)
		get := func(path string, auth bool) result {
			req, _ := http.NewRequest("GET", s.base+path, nil)
			req.Header.Set("Accept-Encoding", "gzip") // set by hand: Go leaves the body as sent
			if auth {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return in.do(req)
		}
		r := get("/info/"+key, true)
		if r.status != 200 || r.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("/info/ with Accept-Encoding: gzip: %d Content-Encoding %q", r.status, r.header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		var info struct{ Width, Height int }
		if json.Unmarshal(plain, &info) != nil || info.Width != 1200 || info.Height != 800 {
			t.Errorf("gunzipped /info/: %s", plain)
		}
		for _, path := range []string{orig, variant} {
			if r := get(path, false); r.status != 200 || r.header.Get("Content-Encoding") != "" {
				t.Errorf("%s: %d Content-Encoding %q, want none for an image", path, r.status, r.header.Get("Content-Encoding"))
			}
		}
	})

	t.Run("SidecarErrorsPassThrough", func(t *testing.T) {
		in := on(t)
		bad := strings.Replace(variant, "s_", "s_x", 1)
		r := in.get(bad)
		var e struct{ Status int }
		if r.status != 403 || r.header.Get("X-Served-By") != "" || json.Unmarshal(r.body, &e) != nil || e.Status != 403 {
			t.Errorf("bad signature through Nginx: %d %q %s, want the sidecar's JSON 403", r.status, r.header.Get("X-Served-By"), r.body)
		}
		if err := securityHeaders(r.header); err != nil {
			t.Errorf("403: %v", err)
		}
	})
}

// Uploads are rate-limited per client address by Nginx; the refused ones
// never reach the sidecar.
func TestStackUploadRateLimit(t *testing.T) {
	s := startStack(t, nil, "--upload-rate", "1r/m", "--upload-burst", "2")
	before := strings.Count(s.sidecarLog(), "path=/upload ")
	accepted, limited := 0, 0
	for i := range 8 {
		img := make([]byte, 64)
		rand.Read(img)
		r := s.upload(fmt.Sprintf("%d.jpg", i), img) // not an image: the sidecar says 415
		switch {
		case r.status == 429 && r.header.Get("X-Served-By") == "nginx" && r.header.Get("Retry-After") != "":
			limited++
		case r.status == 415:
			accepted++
		default:
			t.Errorf("upload %d: %d %v %s", i, r.status, r.header, r.body)
		}
	}
	// A burst of 2 on top of the one the rate allows.
	if accepted != 3 || limited != 5 {
		t.Errorf("8 quick uploads: %d reached the sidecar, %d got 429; want 3 and 5", accepted, limited)
	}
	time.Sleep(time.Second) // the sidecar's log reaches the file through supervisord
	if n := strings.Count(s.sidecarLog(), "path=/upload ") - before; n != accepted {
		t.Errorf("the sidecar logged %d uploads, want %d", n, accepted)
	}
}

// A variant found in the sidecar's disk tier is sent by Nginx from disk
// (X-Accel-Redirect to /_pictor/cache/), with the sidecar's headers. This
// needs the disk tier (the "Cache tiers" work): with the memory tier off,
// a repeated request must become a disk hit.
func TestStackDiskTierHit(t *testing.T) {
	s := startStack(t, []string{"PICTOR_MEMORY_CACHE_BYTES=0"})
	key := s.uploadFile("../testdata/sample.jpg")
	path := s.signed("w_300,f_webp", key)
	first := s.get(path)
	if first.status != 200 || first.header.Get("X-Cache") != "miss" {
		t.Fatalf("first GET %s: %d X-Cache=%q %s", path, first.status, first.header.Get("X-Cache"), first.body)
	}
	var hit result
	// The disk write is asynchronous: poll until the disk tier answers.
	if !waitFor(10*time.Second, func() bool {
		time.Sleep(80 * time.Millisecond) // each miss runs the pipeline again
		hit = s.get(path)
		return hit.status == 200 && hit.header.Get("X-Cache") == "disk"
	}) {
		t.Fatalf("no disk-tier hit within 10 s: last %d X-Cache=%q X-Served-By=%q (is the disk tier built?)",
			hit.status, hit.header.Get("X-Cache"), hit.header.Get("X-Served-By"))
	}
	if hit.header.Get("X-Served-By") != "nginx-cache" {
		t.Errorf("disk hit X-Served-By %q, want nginx-cache (Nginx's internal location)", hit.header.Get("X-Served-By"))
	}
	if err := checkVariant(path, hit.header, hit.body, 300); err != nil {
		t.Error(err)
	}
	if !bytes.Equal(hit.body, first.body) {
		t.Errorf("the disk hit's %d bytes are not the %d the miss made", len(hit.body), len(first.body))
	}
	for _, k := range []string{"ETag", "Cache-Control", "Content-Type"} {
		if got, want := hit.header.Values(k), first.header.Get(k); len(got) != 1 || got[0] != want {
			t.Errorf("disk hit %s %q, want %q once (as on the miss)", k, got, want)
		}
	}
	if err := securityHeaders(hit.header); err != nil {
		t.Errorf("disk hit: %v", err)
	}
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("If-None-Match", first.header.Get("ETag"))
	if r := s.do(req); r.status != 304 {
		t.Errorf("If-None-Match on a disk-tier variant: %d, want 304", r.status)
	}

	// A file vanishes behind the sidecar's back (as when the tier evicts it
	// between the sidecar's answer and Nginx's open): Nginx asks again and
	// the client still gets the variant. The variant is one Nginx has never
	// opened, so its open_file_cache holds no descriptor for it.
	path2 := s.signed("w_301,f_webp", key)
	if r := s.get(path2); r.status != 200 || r.header.Get("X-Cache") != "miss" {
		t.Fatalf("GET %s: %d X-Cache=%q", path2, r.status, r.header.Get("X-Cache"))
	}
	var files []string
	if !waitFor(10*time.Second, func() bool {
		files, _ = filepath.Glob(filepath.Join(s.dir, "cache", key[:2], key, "*.301x*.webp"))
		return len(files) == 1
	}) {
		t.Fatalf("the disk tier did not write w_301 within 10 s: %v", files)
	}
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	again := s.get(path2)
	if again.status != 200 || again.header.Get("X-Served-By") == "nginx-cache" || again.header.Get("X-Cache") != "miss" {
		t.Errorf("GET after the disk file vanished: %d X-Served-By=%q X-Cache=%q, want 200 made anew by the sidecar",
			again.status, again.header.Get("X-Served-By"), again.header.Get("X-Cache"))
	}
	if err := checkVariant(path2, again.header, again.body, 301); err != nil {
		t.Error(err)
	}
}
