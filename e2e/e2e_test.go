package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform/vips"
)

var outputFormats = []string{"jpeg", "png", "webp", "avif", "gif"}

// Every image of the EXIF orientation set comes out upright in every output
// format: within a tolerance of the orientation-1 reference, and far from a
// wrong rotation of it.
func TestOrientationUpright(t *testing.T) {
	in := start(t)
	for _, kind := range []string{"Landscape", "Portrait"} {
		refKey := in.uploadFile(filepath.Join(corpus, "exif-orientation", kind+"_1.jpg"))
		ref := in.get(in.signed("w_240,f_png", refKey))
		if ref.status != 200 {
			t.Fatalf("%s_1 reference: %d %s", kind, ref.status, ref.body)
		}
		refImg := decode(t, ref.body)
		wrong := rotate180(refImg)
		for n := 0; n <= 8; n++ {
			name := fmt.Sprintf("%s_%d.jpg", kind, n)
			key := in.uploadFile(filepath.Join(corpus, "exif-orientation", name))
			for _, f := range outputFormats {
				r := in.get(in.signed("w_240,f_"+f, key))
				if r.status != 200 {
					t.Errorf("%s as %s: %d %s", name, f, r.status, r.body)
					continue
				}
				if ct := r.header.Get("Content-Type"); ct != "image/"+f {
					t.Errorf("%s as %s: Content-Type %q", name, f, ct)
				}
				img := decode(t, r.body)
				if img.Bounds() != refImg.Bounds() {
					t.Errorf("%s as %s: %v, want %v (not upright)", name, f, img.Bounds().Size(), refImg.Bounds().Size())
					continue
				}
				// Lossy encoders and GIF's palette move pixels a little;
				// a wrong orientation moves them a lot.
				d, dw := meanDiff(img, refImg), meanDiff(img, wrong)
				if d > 12 || dw < 3*d {
					t.Errorf("%s as %s: mean difference %.1f from upright, %.1f from upside down", name, f, d, dw)
				}
			}
		}
	}
	in.alive()
}

// Every corrupt PngSuite file is refused with a 4xx, at upload or at
// transform, and the process keeps serving.
func TestCorruptPNGs(t *testing.T) {
	in := start(t)
	files, _ := filepath.Glob(filepath.Join(corpus, "pngsuite", "x*.png"))
	if len(files) == 0 {
		t.Fatal("no corrupt PngSuite files found in " + corpus)
	}
	for _, path := range files {
		b, _ := os.ReadFile(path)
		r := in.upload(filepath.Base(path), b)
		switch {
		case r.status >= 400 && r.status < 500:
			// refused at upload
		case r.status == 201 || r.status == 200:
			var u struct{ Key string }
			if err := json.Unmarshal(r.body, &u); err != nil {
				t.Fatal(err)
			}
			tr := in.get(in.signed("w_32,f_jpeg", u.Key))
			if tr.status < 400 || tr.status >= 500 {
				t.Errorf("%s: accepted, then transform gave %d, want 4xx", filepath.Base(path), tr.status)
			}
		default:
			t.Errorf("%s: upload gave %d %s, want 4xx", filepath.Base(path), r.status, r.body)
		}
		in.alive()
	}
}

// Every valid PngSuite file converts to JPEG, PNG, WebP and AVIF.
func TestPngSuiteConverts(t *testing.T) {
	in := start(t)
	all, _ := filepath.Glob(filepath.Join(corpus, "pngsuite", "*.png"))
	var files []string
	for _, f := range all {
		if !strings.HasPrefix(filepath.Base(f), "x") {
			files = append(files, f)
		}
	}
	if len(files) < 100 {
		t.Fatalf("found %d valid PngSuite files, want the whole suite", len(files))
	}
	for _, path := range files {
		key := in.uploadFile(path)
		src, _ := vips.ProbeFile(path)
		for _, f := range []string{"jpeg", "png", "webp", "avif"} {
			r := in.get(in.signed("f_"+f, key))
			if r.status != 200 {
				t.Errorf("%s to %s: %d %s", filepath.Base(path), f, r.status, r.body)
				continue
			}
			h, err := vips.Probe(r.body)
			if err != nil || h.Width != src.Width || h.Height != src.Height || h.Format.String() != f {
				t.Errorf("%s to %s: got %s %dx%d (%v), want %dx%d", filepath.Base(path), f, h.Format, h.Width, h.Height, err, src.Width, src.Height)
			}
		}
	}
	in.alive()
}

func TestSignatures(t *testing.T) {
	in := start(t)
	key := in.uploadFile("../testdata/sample.jpg")
	good := in.signed("w_200,f_webp", key)
	if r := in.get(good); r.status != 200 {
		t.Fatalf("signed URL: %d %s", r.status, r.body)
	}
	sig := good[strings.Index(good, "s_")+2 : strings.LastIndexByte(good, '/')]
	flipped := []byte(sig)
	if flipped[0] == 'A' {
		flipped[0] = 'B'
	} else {
		flipped[0] = 'A'
	}
	expired := in.signed(fmt.Sprintf("w_200,exp_%d", time.Now().Add(-time.Second).Unix()), key)
	for name, path := range map[string]string{
		"tampered signature": strings.Replace(good, sig, string(flipped), 1),
		"tampered width":     strings.Replace(good, "w_200", "w_201", 1),
		"no signature":       "/t/w_200,f_webp/" + key,
		"expired":            expired,
	} {
		r := in.get(path)
		if r.status != 403 || !strings.Contains(string(r.body), `"status":403`) {
			t.Errorf("%s: %d %s, want 403 JSON", name, r.status, r.body)
		}
	}
}

// `pictor sign` prints a URL the server accepts.
func TestSignCommand(t *testing.T) {
	in := start(t)
	key := in.uploadFile("../testdata/sample.jpg")
	cmd := exec.Command(bin, "sign", "/t/f_webp,w_300/"+key)
	cmd.Env = append(os.Environ(), "PICTOR_SIGNING_KEYS="+signingKey)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pictor sign: %v", err)
	}
	path := strings.TrimSpace(string(out))
	if !strings.HasPrefix(path, "/t/w_300,f_webp,s_") {
		t.Fatalf("pictor sign printed %q, want the canonical form with s_", path)
	}
	if r := in.get(path); r.status != 200 || r.header.Get("Content-Type") != "image/webp" {
		t.Errorf("GET %s: %d %s", path, r.status, r.body)
	}
}

func TestOversizeUpload(t *testing.T) {
	in := start(t, "PICTOR_MAX_UPLOAD_BYTES=1MiB")
	big := make([]byte, 3<<20)
	copy(big, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	r := in.upload("big.jpg", big)
	if r.status != 413 {
		t.Fatalf("3 MiB upload with a 1 MiB limit: %d %s, want 413", r.status, r.body)
	}
	in.alive()
}

// A PDF, an SVG and a BMP named .jpg and sent as image/jpeg are refused by
// their magic bytes.
func TestRenamedTypes(t *testing.T) {
	in := start(t)
	bmp := make([]byte, 58)
	copy(bmp, "BM")
	for name, body := range map[string][]byte{
		"pdf": []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
		"svg": []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`),
		"bmp": bmp,
	} {
		r := in.upload(name+".jpg", body)
		if r.status != 415 || !strings.Contains(string(r.body), `"status":415`) {
			t.Errorf("%s renamed .jpg: %d %s, want 415", name, r.status, r.body)
		}
	}
	in.alive()
}

// SIGTERM drains: a transform in flight when the signal arrives still
// gets its 200, then the process exits 0 and says so.
func TestGracefulStop(t *testing.T) {
	in := start(t, "PICTOR_TIMEOUT=60s") // a loaded CI machine must not turn the slow request into a 503
	in.get("/t/x")
	key := in.uploadFile("../testdata/sample.jpg")
	slow := in.signed("w_3000,f_avif,q_90,e_blur:20", key) // a big blur and AVIF: a few seconds of work
	got := make(chan string, 1)
	go func() {
		resp, err := in.client.Get(in.base + slow)
		if err != nil {
			got <- err.Error()
			return
		}
		resp.Body.Close()
		got <- resp.Status
	}()
	time.Sleep(300 * time.Millisecond)
	in.cmd.Process.Signal(syscall.SIGTERM)
	if status := <-got; status != "200 OK" {
		t.Errorf("request in flight at SIGTERM: %s, want 200 OK", status)
	}
	err := in.cmd.Wait()
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, in.log)
	}
	// The request really was in flight: its log line comes after the drain began.
	log := in.log.String()
	drain, done := strings.Index(log, "msg=draining"), strings.Index(log, "path="+slow+" status=200")
	if drain < 0 || done < drain {
		t.Errorf("the slow request did not finish during the drain:\n%s", log)
	}
	if !strings.Contains(in.log.String(), "stopped") || !strings.Contains(in.log.String(), "path=/t/x status=404") {
		t.Errorf("log lacks the request line or the drain:\n%s", in.log)
	}
}
