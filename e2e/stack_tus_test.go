package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Resumable uploads through the real stack, with the tus project's own
// JavaScript client (tus-js-client, pinned in e2e/tusclient/package-lock.json)
// under Node, as a browser or a Node service would upload.

const tusChunk = 1 << 20

// tusClientDir is where the client lives; npm ci installs it there once
// per test binary.
const tusClientDir = "tusclient"

var tusInstall struct {
	once sync.Once
	err  error
}

// needTusClient skips without Node and npm (scripts/deps.sh installs both,
// so make test runs these tests) and installs tus-js-client with npm ci.
func needTusClient(t *testing.T) {
	t.Helper()
	for _, name := range []string{"node", "npm"} {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("%s is not installed: the resumable-upload tests run tus-js-client under Node; scripts/deps.sh installs it (make test runs it first)", name)
		}
	}
	tusInstall.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = tusClientDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			tusInstall.err = fmt.Errorf("npm ci in e2e/%s: %v\n%s", tusClientDir, err, out)
		}
	})
	if tusInstall.err != nil {
		t.Fatal(tusInstall.err)
	}
}

// tusPlan is what upload.mjs is told to do.
type tusPlan struct {
	Endpoint   string   `json:"endpoint"`
	Token      string   `json:"token"`
	Files      []string `json:"files"`
	ChunkSize  int      `json:"chunkSize"`
	AbortAt    int      `json:"abortAt,omitempty"`
	UploadURLs []string `json:"uploadUrls,omitempty"`
}

// tusResult is what happened to one file.
type tusResult struct {
	File         string `json:"file"`
	Size         int    `json:"size"`
	URL          string `json:"url"`
	Key          string `json:"key"`
	AbortedAfter int    `json:"abortedAfter"`
	Error        string `json:"error"`
	Status       int    `json:"status"`
	Body         string `json:"body"`
	Exchanges    []struct {
		Method string  `json:"method"`
		Status int     `json:"status"`
		Offset *string `json:"offset"`
		Key    *string `json:"key"`
	} `json:"exchanges"`
}

func runTusClient(t *testing.T, p tusPlan) []tusResult {
	t.Helper()
	plan, _ := json.Marshal(p)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "upload.mjs", string(plan))
	cmd.Dir = tusClientDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tus-js-client: %v\n%s", err, stderr.Bytes())
	}
	var rs []tusResult
	if err := json.Unmarshal(out, &rs); err != nil || len(rs) != len(p.Files) {
		t.Fatalf("tus-js-client printed %q: %v", out, err)
	}
	return rs
}

// photos writes count photo-like JPEGs of at least size bytes into dir
// (e2e/photogen, run without the race detector) and returns their paths.
func photos(t *testing.T, dir string, size, count int, seed uint64) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./photogen", "-src", corpus+"/exif-orientation/Landscape_1.jpg",
		"-out", dir, "-bytes", strconv.Itoa(size), "-count", strconv.Itoa(count), "-seed", strconv.FormatUint(seed, 10))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("photogen: %v\n%s", err, out)
	}
	paths := make([]string, count)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("photo-%d.jpg", seed+uint64(i)))
	}
	return paths
}

// keyOf is the key Pictor gives a JPEG's bytes.
func keyOf(t *testing.T, path string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(readFile(t, path)))
	return fmt.Sprintf("%x.jpg", sum)
}

// tusParts lists what unfinished uploads hold in the data directory (the
// .done records of finished ones aside).
func tusParts(t *testing.T, dataDir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dataDir, "tus"))
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".done") {
			parts = append(parts, e.Name())
		}
	}
	return parts
}

func countOriginals(t *testing.T, dataDir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(dataDir, "originals"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// tusReq sends one tus request through Nginx.
func (s *stack) tusReq(method, path string, body []byte, hdr ...string) result {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Tus-Resumable", "1.0.0")
	for _, kv := range hdr {
		k, v, _ := strings.Cut(kv, ": ")
		req.Header.Set(k, v)
	}
	return s.do(req)
}

func wantJSONError(t *testing.T, what string, r result, status int) {
	t.Helper()
	var e struct {
		Error  string
		Status int
	}
	if r.status != status || json.Unmarshal(r.body, &e) != nil || e.Status != status || e.Error == "" {
		t.Errorf("%s: %d %s, want %d with a JSON error", what, r.status, r.body, status)
	}
	if r.header.Get("X-Served-By") != "" {
		t.Errorf("%s: answered by Nginx (%s), not the sidecar", what, r.header.Get("X-Served-By"))
	}
}

func TestStackTusResumable(t *testing.T) {
	needStack(t)
	needTusClient(t)
	const origin = "https://app.example.com"
	s := startStack(t, []string{"PICTOR_CORS_ORIGINS=" + origin, "PICTOR_TUS_BYTES=200MiB"})
	dir := t.TempDir()
	big := photos(t, dir, 30<<20, 1, 1)[0]
	small := photos(t, dir, 5<<19, 20, 100)
	endpoint := s.base + "/files/"

	t.Run("a 30 MiB photo, cut mid-way and resumed", func(t *testing.T) {
		abortAt := 12*tusChunk + tusChunk/2
		first := runTusClient(t, tusPlan{Endpoint: endpoint, Token: token, Files: []string{big}, ChunkSize: tusChunk, AbortAt: abortAt})[0]
		if first.URL == "" || first.AbortedAfter < abortAt || first.Key != "" {
			t.Fatalf("first run: %+v", first)
		}
		if first.Size < 30<<20 {
			t.Fatalf("the photo is %d bytes, want at least 30 MiB", first.Size)
		}
		second := runTusClient(t, tusPlan{Endpoint: endpoint, Token: token, Files: []string{big}, ChunkSize: tusChunk, UploadURLs: []string{first.URL}})[0]
		if second.Error != "" || second.Key == "" || second.URL != first.URL {
			t.Fatalf("resumed run: %+v", second)
		}
		// The client asked the server where to go on, and went on from
		// there: the 12 chunks before the cut at least, not the whole file.
		head := second.Exchanges[0]
		if head.Method != "HEAD" || head.Status != 200 || head.Offset == nil {
			t.Fatalf("resumed run did not start with HEAD: %+v", second.Exchanges)
		}
		from, _ := strconv.Atoi(*head.Offset)
		// What Nginx passed on of the cut chunk is kept: the offset is past
		// the 12 whole chunks, inside the 13th.
		if from <= 12*tusChunk || from > abortAt {
			t.Errorf("resumed from offset %d, want inside the cut chunk (%d, %d]", from, 12*tusChunk, abortAt)
		}
		patches := 0
		for _, x := range second.Exchanges[1:] {
			if x.Method == "PATCH" {
				patches++
			}
		}
		if want := (second.Size - from + tusChunk - 1) / tusChunk; patches != want {
			t.Errorf("resumed run sent %d PATCHes, want %d for the rest from %d", patches, want, from)
		}
		t.Logf("cut after %d bytes sent, resumed from %d of %d", first.AbortedAfter, from, second.Size)

		// The key is the one a single POST /upload of the same bytes gets
		// (200: already stored).
		if second.Key != keyOf(t, big) {
			t.Errorf("key %s, want %s", second.Key, keyOf(t, big))
		}
		r := s.upload("big.jpg", []byte(readFile(t, big)))
		var u struct{ Key string }
		if json.Unmarshal(r.body, &u); r.status != 200 || u.Key != second.Key {
			t.Errorf("POST /upload of the same bytes: %d %s, want 200 and %s", r.status, r.body, second.Key)
		}
		if g := s.get("/o/" + second.Key); g.status != 200 || len(g.body) != second.Size {
			t.Errorf("GET /o/%s: %d, %d bytes", second.Key, g.status, len(g.body))
		}
		// A later HEAD still tells the key.
		if h := s.tusReq("HEAD", strings.TrimPrefix(second.URL, s.base), nil); h.status != 200 || h.header.Get("Pictor-Key") != second.Key {
			t.Errorf("HEAD after finishing: %d %v", h.status, h.header)
		}
		if parts := tusParts(t, s.dir); len(parts) != 0 {
			t.Errorf("parts left after finishing: %v", parts)
		}
	})

	t.Run("20 at once", func(t *testing.T) {
		rs := runTusClient(t, tusPlan{Endpoint: endpoint, Token: token, Files: small, ChunkSize: tusChunk})
		seen := map[string]bool{}
		for i, r := range rs {
			if r.Error != "" || r.Key != keyOf(t, small[i]) {
				t.Errorf("upload %d: key %q, want %q (%s %d %s)", i, r.Key, keyOf(t, small[i]), r.Error, r.Status, r.Body)
			}
			seen[r.Key] = true
			if len(r.Exchanges) < 3 {
				t.Errorf("upload %d of %d bytes took %d requests, want a POST and a PATCH per MiB", i, r.Size, len(r.Exchanges))
			}
		}
		if len(seen) != len(small) {
			t.Errorf("%d distinct keys for %d different photos", len(seen), len(small))
		}
		for i, p := range small {
			if g := s.get("/o/" + keyOf(t, p)); g.status != 200 {
				t.Errorf("photo %d not stored: %d", i, g.status)
			}
		}
		if parts := tusParts(t, s.dir); len(parts) != 0 {
			t.Errorf("parts left after 20 uploads: %v", parts)
		}
	})

	t.Run("a PDF completes and is refused with 415, leaving nothing", func(t *testing.T) {
		pdf := filepath.Join(dir, "doc.pdf")
		body := append([]byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"), bytes.Repeat([]byte("% padding\n"), 250_000)...)
		os.WriteFile(pdf, append(body, "trailer\n<< /Root 1 0 R >>\n%%EOF\n"...), 0o644)
		before := countOriginals(t, s.dir)
		r := runTusClient(t, tusPlan{Endpoint: endpoint, Token: token, Files: []string{pdf}, ChunkSize: tusChunk})[0]
		var e struct {
			Error  string
			Status int
		}
		if r.Status != 415 || json.Unmarshal([]byte(r.Body), &e) != nil || e.Status != 415 {
			t.Errorf("PDF: %+v, want 415 with a JSON error", r)
		}
		if n := countOriginals(t, s.dir); n != before {
			t.Errorf("originals: %d after the PDF, %d before", n, before)
		}
		if parts := tusParts(t, s.dir); len(parts) != 0 {
			t.Errorf("the refused PDF left %v", parts)
		}
	})

	t.Run("protocol errors through Nginx", func(t *testing.T) {
		img := []byte(readFile(t, small[0]))
		wantJSONError(t, "Upload-Length over the limit", s.tusReq("POST", "/files/", nil, "Upload-Length: "+strconv.Itoa(50<<20+1)), 413)
		wantJSONError(t, "no token", s.do(func() *http.Request {
			req, _ := http.NewRequest("POST", s.base+"/files/", nil)
			req.Header.Set("Tus-Resumable", "1.0.0")
			req.Header.Set("Upload-Length", "10")
			return req
		}()), 401)
		c := s.tusReq("POST", "/files/", nil, "Upload-Length: "+strconv.Itoa(len(img)))
		loc := c.header.Get("Location")
		if c.status != 201 || !strings.HasPrefix(loc, "/files/") || c.header.Get("Upload-Expires") == "" {
			t.Fatalf("create: %d %v", c.status, c.header)
		}
		patch := func(off int, chunk []byte, hdr ...string) result {
			return s.tusReq("PATCH", loc, chunk, append([]string{"Upload-Offset: " + strconv.Itoa(off), "Content-Type: application/offset+octet-stream"}, hdr...)...)
		}
		if r := patch(0, img[:100_000]); r.status != 204 || r.header.Get("Upload-Offset") != "100000" {
			t.Fatalf("first PATCH: %d %v", r.status, r.header)
		}
		wantJSONError(t, "wrong offset", patch(50_000, img[50_000:150_000]), 409)
		sum := sha256.Sum256(img[100_000:200_001])
		wantJSONError(t, "checksum mismatch", patch(100_000, img[100_000:200_000], "Upload-Checksum: sha256 "+base64.StdEncoding.EncodeToString(sum[:])), 460)
		if h := s.tusReq("HEAD", loc, nil); h.header.Get("Upload-Offset") != "100000" {
			t.Errorf("offset after the 409 and the 460: %q, want 100000", h.header.Get("Upload-Offset"))
		}
		sum = sha256.Sum256(img[100_000:])
		if r := patch(100_000, img[100_000:], "Upload-Checksum: sha256 "+base64.StdEncoding.EncodeToString(sum[:])); r.status != 204 || r.header.Get("Pictor-Key") != keyOf(t, small[0]) {
			t.Errorf("last PATCH with a good checksum: %d %v", r.status, r.header)
		}
	})

	t.Run("budget", func(t *testing.T) {
		var locs []string
		for range 4 {
			r := s.tusReq("POST", "/files/", nil, "Upload-Length: "+strconv.Itoa(50<<20))
			if r.status != 201 {
				t.Fatalf("creation within PICTOR_TUS_BYTES: %d %s", r.status, r.body)
			}
			locs = append(locs, r.header.Get("Location"))
		}
		wantJSONError(t, "creation past PICTOR_TUS_BYTES", s.tusReq("POST", "/files/", nil, "Upload-Length: 1"), 507)
		for _, loc := range locs {
			if r := s.tusReq("DELETE", loc, nil); r.status != 204 {
				t.Errorf("DELETE %s: %d", loc, r.status)
			}
		}
		if r := s.tusReq("POST", "/files/", nil, "Upload-Length: 1"); r.status != 201 {
			t.Errorf("creation after the DELETEs: %d %s", r.status, r.body)
		} else {
			s.tusReq("DELETE", r.header.Get("Location"), nil)
		}
	})

	t.Run("CORS", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", endpoint, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PATCH")
		req.Header.Set("Access-Control-Request-Headers", "authorization,tus-resumable,upload-offset,content-type")
		r := s.do(req)
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "PATCH") ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Upload-Offset") ||
			!strings.Contains(r.header.Get("Tus-Extension"), "checksum") {
			t.Errorf("preflight: %d %v", r.status, r.header)
		}
		c := s.tusReq("POST", "/files/", nil, "Origin: "+origin, "Upload-Length: 10")
		expose := c.header.Get("Access-Control-Expose-Headers")
		if c.status != 201 || c.header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(expose, "Pictor-Key") || !strings.Contains(expose, "Upload-Offset") || !strings.Contains(expose, "Location") {
			t.Errorf("create from %s: %d %v", origin, c.status, c.header)
		}
		s.tusReq("DELETE", c.header.Get("Location"), nil)
		wantJSONError(t, "another origin", s.tusReq("POST", "/files/", nil, "Origin: https://evil.example.com", "Upload-Length: 10"), 403)
	})
}

// An abandoned upload is removed by the janitor after PICTOR_TUS_EXPIRY;
// the client, resuming, finds it gone and starts over.
func TestStackTusExpiry(t *testing.T) {
	needStack(t)
	needTusClient(t)
	s := startStack(t, []string{"PICTOR_TUS_EXPIRY=2s"})
	photo := photos(t, t.TempDir(), 5<<19, 1, 7)[0]
	endpoint := s.base + "/files/"
	first := runTusClient(t, tusPlan{Endpoint: endpoint, Token: token, Files: []string{photo}, ChunkSize: tusChunk, AbortAt: tusChunk + tusChunk/2})[0]
	if first.URL == "" || first.Key != "" {
		t.Fatalf("first run: %+v", first)
	}
	id := first.URL[strings.LastIndex(first.URL, "/")+1:]
	parts := tusParts(t, s.dir)
	if len(parts) != 2 || !slices.Contains(parts, id) || !slices.Contains(parts, id+".info") {
		t.Fatalf("after the cut the tus directory holds %v, want %s and its .info", parts, id)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(tusParts(t, s.dir)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned upload is still there 15 s later: %v", tusParts(t, s.dir))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, err := s.metric("pictor_tus_uploads_total", `result="expired"`); err != nil || n < 1 {
		t.Errorf("pictor_tus_uploads_total{result=\"expired\"} = %v, %v", n, err)
	}
	again := runTusClient(t, tusPlan{Endpoint: endpoint, Token: token, Files: []string{photo}, ChunkSize: tusChunk, UploadURLs: []string{first.URL}})[0]
	if again.Key != keyOf(t, photo) {
		t.Fatalf("after expiry: %+v, want key %s", again, keyOf(t, photo))
	}
	if x := again.Exchanges; len(x) < 2 || x[0].Method != "HEAD" || x[0].Status != 404 || x[1].Method != "POST" {
		t.Errorf("after expiry the client should find the upload gone (HEAD 404) and create a new one: %+v", x)
	}
}

// With several sidecars, each with its own disk, every request of a
// resumable upload reaches the sidecar that holds its parts: Nginx hashes
// all of /files/ to one, while variants still spread by URI.
func TestStackTusSeveralSidecars(t *testing.T) {
	needStack(t)
	a, b := start(t), start(t)
	front := startNginx(t, "--no-files", "--upstream", strings.TrimPrefix(a.base, "http://"),
		"--upstream", strings.TrimPrefix(b.base, "http://"))
	img := []byte(readFile(t, "../testdata/sample.jpg"))
	in := *a
	in.t, in.base = t, front.base
	tus := func(method, path string, body []byte, hdr ...string) result {
		req, _ := http.NewRequest(method, front.base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Tus-Resumable", "1.0.0")
		for _, kv := range hdr {
			k, v, _ := strings.Cut(kv, ": ")
			req.Header.Set(k, v)
		}
		return in.do(req)
	}
	for n := range 4 {
		loc := tus("POST", "/files/", nil, "Upload-Length: "+strconv.Itoa(len(img))).header.Get("Location")
		var last result
		for off := 0; off < len(img); off += 10_000 {
			end := min(off+10_000, len(img))
			last = tus("PATCH", loc, img[off:end], "Upload-Offset: "+strconv.Itoa(off), "Content-Type: application/offset+octet-stream")
			if last.status != 204 {
				t.Fatalf("upload %d, PATCH at %d through Nginx with two sidecars: %d %s", n, off, last.status, last.body)
			}
		}
		if last.header.Get("Pictor-Key") == "" {
			t.Fatalf("upload %d: no Pictor-Key", n)
		}
		tus("DELETE", loc, nil)
	}
}
