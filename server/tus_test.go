package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/server"
)

// tus requests, as a tus client sends them.
var tusAuth = []string{"Authorization: Bearer " + testToken, "Tus-Resumable: 1.0.0"}

func (h *harness) tusCreate(length int, hdr ...string) response {
	h.t.Helper()
	return h.do(h.client, "POST", "/files/", nil, append(append([]string{"Upload-Length: " + strconv.Itoa(length)}, tusAuth...), hdr...)...)
}

func (h *harness) tusPatch(loc string, offset int, chunk []byte, hdr ...string) response {
	h.t.Helper()
	hdr = append(append([]string{"Upload-Offset: " + strconv.Itoa(offset), "Content-Type: application/offset+octet-stream"}, tusAuth...), hdr...)
	return h.do(h.client, "PATCH", loc, chunk, hdr...)
}

func (h *harness) tusHead(loc string) response {
	h.t.Helper()
	return h.do(h.client, "HEAD", loc, nil, tusAuth...)
}

func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return "Upload-Checksum: sha256 " + base64.StdEncoding.EncodeToString(sum[:])
}

// tusFiles lists what the tus directory holds.
func (h *harness) tusFiles() []string {
	h.t.Helper()
	ents, err := os.ReadDir(filepath.Join(h.dir, "tus"))
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// originals counts the files in the originals tree.
func (h *harness) originals() int {
	n := 0
	filepath.WalkDir(filepath.Join(h.dir, "originals"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestTusUploadIsAnUpload(t *testing.T) {
	h := newHarness(t, nil)
	img := readFile(t, "../testdata/sample.jpg")

	opt := h.do(h.client, "OPTIONS", "/files/", nil)
	if opt.status != 200 || !strings.Contains(opt.header["Tus-Extension"], "creation-with-upload") ||
		!strings.Contains(opt.header["Tus-Extension"], "termination") ||
		!strings.Contains(opt.header["Tus-Extension"], "checksum") ||
		!strings.Contains(opt.header["Tus-Extension"], "expiration") ||
		opt.header["Tus-Checksum-Algorithm"] != "sha256" || opt.header["Tus-Max-Size"] != strconv.Itoa(50<<20) {
		t.Fatalf("OPTIONS: %v %v", opt, opt.header)
	}

	c := h.tusCreate(len(img))
	loc := c.header["Location"]
	if c.status != 201 || !strings.HasPrefix(loc, "/files/") || c.header["Upload-Expires"] == "" {
		t.Fatalf("create: %v %v", c, c.header)
	}
	exp, err := time.Parse(time.RFC1123, c.header["Upload-Expires"])
	if err != nil || exp.Before(time.Now().Add(23*time.Hour)) {
		t.Errorf("Upload-Expires = %q (%v), want about 24 h ahead", c.header["Upload-Expires"], err)
	}

	const chunk = 40 << 10
	var last response
	for off := 0; off < len(img); off += chunk {
		end := min(off+chunk, len(img))
		last = h.tusPatch(loc, off, img[off:end], checksum(img[off:end]))
		if last.status != 204 || last.header["Upload-Offset"] != strconv.Itoa(end) {
			t.Fatalf("PATCH at %d: %v %v", off, last, last.header)
		}
		if end < len(img) {
			if last.header["Pictor-Key"] != "" || last.header["Upload-Expires"] == "" {
				t.Fatalf("PATCH at %d of an unfinished upload: %v", off, last.header)
			}
			if hd := h.tusHead(loc); hd.status != 200 || hd.header["Upload-Offset"] != strconv.Itoa(end) || hd.header["Upload-Length"] != strconv.Itoa(len(img)) {
				t.Fatalf("HEAD at %d: %v %v", end, hd, hd.header)
			}
		}
	}
	key := last.header["Pictor-Key"]
	if key == "" {
		t.Fatalf("last PATCH has no Pictor-Key: %v", last.header)
	}
	// The same key as a POST /upload of the same bytes, which finds them
	// stored already.
	r := h.upload(img, "Content-Type: image/jpeg")
	var u server.UploadResponse
	if err := json.Unmarshal(r.body, &u); err != nil || r.status != 200 || u.Key != key {
		t.Fatalf("POST /upload of the same bytes: %v, key %q, want 200 and %q", r, u.Key, key)
	}
	if got := h.get("/o/" + key); got.status != 200 || len(got.body) != len(img) {
		t.Fatalf("GET /o/%s: %v", key, got)
	}
	// The parts are gone; a later HEAD still tells the key.
	if files := h.tusFiles(); len(files) != 1 || !strings.HasSuffix(files[0], ".done") {
		t.Errorf("tus directory after finishing holds %v, want only the .done record", files)
	}
	if hd := h.tusHead(loc); hd.status != 200 || hd.header["Pictor-Key"] != key || hd.header["Upload-Offset"] != strconv.Itoa(len(img)) {
		t.Errorf("HEAD after finishing: %v %v", hd, hd.header)
	}
	// A repeated last PATCH (its response was lost) is answered the same.
	if p := h.tusPatch(loc, len(img), nil); p.status != 204 || p.header["Pictor-Key"] != key {
		t.Errorf("PATCH after finishing: %v %v", p, p.header)
	}
}

func TestTusCreationWithUpload(t *testing.T) {
	h := newHarness(t, nil)
	img := readFile(t, "../testdata/alpha.png")
	r := h.do(h.client, "POST", "/files/", img, append([]string{
		"Upload-Length: " + strconv.Itoa(len(img)), "Content-Type: application/offset+octet-stream", checksum(img)}, tusAuth...)...)
	if r.status != 201 || !strings.HasSuffix(r.header["Pictor-Key"], ".png") {
		t.Fatalf("POST with the whole upload: %v %v", r, r.header)
	}
	sum := sha256.Sum256(img)
	if !strings.HasPrefix(r.header["Pictor-Key"], fmt.Sprintf("%x", sum)) {
		t.Errorf("key %q is not the SHA-256 of the bytes", r.header["Pictor-Key"])
	}
}

func TestTusRefusals(t *testing.T) {
	h := newHarness(t, func(c *app.Config) {
		c.Server.MaxUploadBytes = 1 << 20
		c.Server.TusBytes = 3 << 20
	})
	img := readFile(t, "../testdata/sample.jpg")

	t.Run("no token", func(t *testing.T) {
		wantError(t, h.do(h.client, "POST", "/files/", nil, "Tus-Resumable: 1.0.0", "Upload-Length: 10"), 401)
	})
	t.Run("Upload-Length over the limit is 413 before any byte", func(t *testing.T) {
		wantError(t, h.tusCreate(1<<20+1), 413)
		if files := h.tusFiles(); len(files) != 0 {
			t.Errorf("a refused creation left %v", files)
		}
	})
	t.Run("no Tus-Resumable", func(t *testing.T) {
		wantError(t, h.do(h.client, "POST", "/files/", nil, "Authorization: Bearer "+testToken, "Upload-Length: 10"), 412)
	})
	t.Run("unknown upload", func(t *testing.T) {
		wantError(t, h.tusPatch("/files/0123456789abcdef0123456789abcdef", 0, []byte("x")), 404)
		wantError(t, h.tusPatch("/files/../../etc", 0, []byte("x")), 404)
	})
	t.Run("wrong offset is 409", func(t *testing.T) {
		loc := h.tusCreate(len(img)).header["Location"]
		defer h.do(h.client, "DELETE", loc, nil, tusAuth...)
		if r := h.tusPatch(loc, 0, img[:1000]); r.status != 204 {
			t.Fatal(r)
		}
		wantError(t, h.tusPatch(loc, 500, img[500:2000]), 409)
		wantError(t, h.tusPatch(loc, 2000, img[2000:3000]), 409)
		if hd := h.tusHead(loc); hd.header["Upload-Offset"] != "1000" {
			t.Errorf("offset after the 409s = %q, want 1000", hd.header["Upload-Offset"])
		}
	})
	t.Run("checksum mismatch is 460 and keeps nothing of the chunk", func(t *testing.T) {
		loc := h.tusCreate(len(img)).header["Location"]
		defer h.do(h.client, "DELETE", loc, nil, tusAuth...)
		if r := h.tusPatch(loc, 0, img[:1000], checksum(img[:1000])); r.status != 204 {
			t.Fatal(r)
		}
		wantError(t, h.tusPatch(loc, 1000, img[1000:5000], checksum(img[1001:5001])), 460)
		if hd := h.tusHead(loc); hd.header["Upload-Offset"] != "1000" {
			t.Errorf("offset after the 460 = %q, want 1000", hd.header["Upload-Offset"])
		}
		wantError(t, h.tusPatch(loc, 1000, img[1000:5000], "Upload-Checksum: md5 AAAA"), 400)
		if r := h.tusPatch(loc, 1000, img[1000:5000], checksum(img[1000:5000])); r.status != 204 || r.header["Upload-Offset"] != "5000" {
			t.Errorf("the same chunk sent again: %v %v", r, r.header)
		}
	})
	t.Run("budget", func(t *testing.T) {
		var locs []string
		for range 3 {
			r := h.tusCreate(1 << 20)
			if r.status != 201 {
				t.Fatalf("creation within the budget: %v", r)
			}
			locs = append(locs, r.header["Location"])
		}
		wantError(t, h.tusCreate(1), 507)
		// Termination gives its share back.
		if r := h.do(h.client, "DELETE", locs[0], nil, tusAuth...); r.status != 204 {
			t.Fatalf("DELETE: %v", r)
		}
		if r := h.tusCreate(1 << 20); r.status != 201 {
			t.Fatalf("creation after a DELETE: %v", r)
		} else {
			locs = append(locs[1:], r.header["Location"])
		}
		for _, loc := range locs {
			h.do(h.client, "DELETE", loc, nil, tusAuth...)
		}
		if files := h.tusFiles(); len(files) != 0 {
			t.Errorf("after DELETE of every upload the directory holds %v", files)
		}
	})
	t.Run("a PDF that completes is 415 and leaves nothing", func(t *testing.T) {
		pdf := []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
		before := h.originals()
		loc := h.tusCreate(len(pdf)).header["Location"]
		wantError(t, h.tusPatch(loc, 0, pdf), 415)
		if files := h.tusFiles(); len(files) != 0 {
			t.Errorf("a refused upload left %v", files)
		}
		if n := h.originals(); n != before {
			t.Errorf("originals: %d, want %d", n, before)
		}
		if hd := h.tusHead(loc); hd.status != 404 {
			t.Errorf("HEAD of the refused upload: %v", hd)
		}
	})
}

func TestTusExpiry(t *testing.T) {
	h := newHarness(t, func(c *app.Config) { c.Server.TusExpiry = 300 * time.Millisecond })
	img := readFile(t, "../testdata/sample.jpg")
	loc := h.tusCreate(len(img)).header["Location"]
	if r := h.tusPatch(loc, 0, img[:1000]); r.status != 204 {
		t.Fatal(r)
	}
	id := strings.TrimPrefix(loc, "/files/")
	if files := h.tusFiles(); !slices.Contains(files, id) || !slices.Contains(files, id+".info") {
		t.Fatalf("tus directory holds %v", files)
	}
	// The janitor removes it with no request coming by.
	deadline := time.Now().Add(5 * time.Second)
	for len(h.tusFiles()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("expired upload still there: %v", h.tusFiles())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if hd := h.tusHead(loc); hd.status != 404 {
		t.Errorf("HEAD of the expired upload: %v", hd)
	}
	wantError(t, h.tusPatch(loc, 1000, img[1000:2000]), 404)
}

func TestTusCORS(t *testing.T) {
	h := newHarness(t, func(c *app.Config) { c.Server.CORSOrigins = []string{"https://app.example.com"} })
	pre := h.do(h.client, "OPTIONS", "/files/", nil, "Origin: https://app.example.com",
		"Access-Control-Request-Method: PATCH", "Access-Control-Request-Headers: Upload-Checksum")
	if pre.status != 200 || pre.header["Access-Control-Allow-Origin"] != "https://app.example.com" ||
		!strings.Contains(pre.header["Access-Control-Allow-Methods"], "PATCH") ||
		!strings.Contains(pre.header["Access-Control-Allow-Headers"], "Upload-Checksum") {
		t.Fatalf("preflight: %v %v", pre, pre.header)
	}
	r := h.do(h.client, "POST", "/files/", nil, append([]string{"Origin: https://app.example.com", "Upload-Length: 10"}, tusAuth...)...)
	if r.status != 201 || !strings.Contains(r.header["Access-Control-Expose-Headers"], "Pictor-Key") ||
		!strings.Contains(r.header["Access-Control-Expose-Headers"], "Upload-Offset") {
		t.Fatalf("create from an allowed origin: %v %v", r, r.header)
	}
	// A refusal is readable by the page too.
	un := h.do(h.client, "POST", "/files/", nil, "Origin: https://app.example.com", "Tus-Resumable: 1.0.0", "Upload-Length: 10")
	if un.status != 401 || un.header["Access-Control-Allow-Origin"] != "https://app.example.com" {
		t.Errorf("401 from an allowed origin: %v %v", un, un.header)
	}
	wantError(t, h.do(h.client, "POST", "/files/", nil, append([]string{"Origin: https://evil.example.com", "Upload-Length: 10"}, tusAuth...)...), 403)
}

// A PATCH whose connection breaks keeps what arrived, and the client
// resumes from there; one that carried a checksum keeps nothing of it.
func TestTusInterruptedPatch(t *testing.T) {
	h := newHarness(t, nil)
	img := readFile(t, "../testdata/sample.jpg")
	loc := h.tusCreate(len(img)).header["Location"]
	cut := func(extra string, sent []byte) {
		t.Helper()
		conn, err := h.client.Dial("pictor")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: pictor\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\n"+
			"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: %d\r\n%s\r\n",
			loc, testToken, len(img), extra)
		conn.Write(sent)
		time.Sleep(100 * time.Millisecond)
		conn.Close()
	}
	offset := func() string {
		t.Helper()
		// The server notices the broken connection in its own time; the
		// next request for the upload waits for the lock until it has.
		return h.tusHead(loc).header["Upload-Offset"]
	}
	cut(checksum(img)+"\r\n", img[:20000])
	if got := offset(); got != "0" {
		t.Fatalf("offset after a cut chunk with a checksum = %s, want 0", got)
	}
	cut("", img[:20000])
	if got := offset(); got != "20000" {
		t.Fatalf("offset after a cut chunk = %s, want 20000", got)
	}
	r := h.tusPatch(loc, 20000, img[20000:])
	if r.status != 204 || r.header["Pictor-Key"] == "" {
		t.Fatalf("resumed PATCH: %v %v", r, r.header)
	}
}
