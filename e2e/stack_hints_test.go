package e2e

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform/vips"
)

const (
	varyWidth = "Sec-CH-Width, Width, Sec-CH-Viewport-Width, Viewport-Width"
	varyDPR   = "Sec-CH-DPR, DPR"
	acceptCH  = "Sec-CH-Width, Sec-CH-DPR, Sec-CH-Viewport-Width, ECT"
)

// hinted GETs path with "Name: value" headers.
func (in *instance) hinted(path string, hdr ...string) result {
	in.t.Helper()
	req, _ := http.NewRequest("GET", in.base+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return in.do(req)
}

func widthOf(t *testing.T, r result) int {
	t.Helper()
	h, err := vips.Probe(r.body)
	if err != nil {
		t.Fatalf("the variant does not probe: %v (%d %s)", err, r.status, r.header)
	}
	return h.Width
}

// Client hints through real Nginx and supervisord: Nginx passes the hint
// headers to the sidecar, the answer's Vary names exactly the hints the
// URL reads, and Accept-CH and Vary survive a disk-tier hit that Nginx
// sends itself.
func TestStackClientHints(t *testing.T) {
	s := startStack(t, []string{"PICTOR_MEMORY_CACHE_BYTES=0", "PICTOR_ACCEPT_CH=on"})
	key := s.uploadFile("../testdata/sample.jpg") // 1200×800
	path := s.signed("w_auto,dpr_auto,f_webp", key)

	first := s.hinted(path, "Sec-CH-Viewport-Width", "180", "Sec-CH-DPR", "1.5")
	if first.status != 200 || first.header.Get("X-Cache") != "miss" {
		t.Fatalf("GET %s: %d X-Cache %q %s", path, first.status, first.header.Get("X-Cache"), first.body)
	}
	if w := widthOf(t, first); w != 300 { // 180 × 1.5 = 270, up to the step
		t.Errorf("viewport 180 at DPR 1.5: %d wide, want 300", w)
	}
	want := varyWidth + ", " + varyDPR
	if got := first.header.Values("Vary"); len(got) != 1 || got[0] != want {
		t.Errorf("Vary %q, want %q once", got, want)
	}
	if got := first.header.Get("Accept-CH"); got != acceptCH {
		t.Errorf("Accept-CH %q, want %q", got, acceptCH)
	}
	// The legacy names, resolving to the same variant, find it on disk;
	// Nginx sends the file and keeps the sidecar's Vary and Accept-CH.
	var hit result
	if !waitFor(10*time.Second, func() bool {
		time.Sleep(50 * time.Millisecond)
		hit = s.hinted(path, "Width", "300")
		return hit.status == 200 && hit.header.Get("X-Cache") == "disk"
	}) {
		t.Fatalf("no disk-tier hit within 10 s: %d X-Cache %q", hit.status, hit.header.Get("X-Cache"))
	}
	if hit.header.Get("X-Served-By") != "nginx-cache" || hit.header.Get("Vary") != want || hit.header.Get("Accept-CH") != acceptCH {
		t.Errorf("disk hit: X-Served-By %q Vary %q Accept-CH %q; want nginx-cache, %q, %q",
			hit.header.Get("X-Served-By"), hit.header.Get("Vary"), hit.header.Get("Accept-CH"), want, acceptCH)
	}
	if w := widthOf(t, hit); w != 300 {
		t.Errorf("Width 300: %d wide, want 300", w)
	}
	// A URL without auto options varies on none of them.
	plain := s.hinted(s.signed("w_100,f_webp", key), "Sec-CH-Width", "900")
	if plain.status != 200 || plain.header.Get("Vary") != "" || widthOf(t, plain) != 100 {
		t.Errorf("w_100 with Sec-CH-Width 900: %d Vary %q, width %d; want 200, no Vary, 100",
			plain.status, plain.header.Get("Vary"), widthOf(t, plain))
	}
}

// The proxy_cache layer keys on the hints for URLs that read them (and
// presets, which may), as the sidecar would read them, and on ECT's class
// for q_auto; a URL that reads none is one entry whatever hints come.
func TestStackClientHintsProxyCache(t *testing.T) {
	s := startStack(t, []string{"PICTOR_PRESETS=resp+public:w_auto,f_webp"},
		"--proxy-cache", filepath.Join(t.TempDir(), "proxy"))
	key := s.uploadFile("../testdata/sample.jpg")
	auto := s.signed("w_auto,f_webp", key)
	tests := []struct {
		name  string
		path  string
		hdr   []string
		cache string // X-Proxy-Cache
		width int
		vary  string
	}{
		{"first width", auto, []string{"Sec-CH-Width", "301"}, "MISS", 400, varyWidth},
		{"same width", auto, []string{"Sec-CH-Width", "301"}, "HIT", 400, varyWidth},
		{"legacy name, same width", auto, []string{"Width", "301"}, "HIT", 400, varyWidth},
		{"another width", auto, []string{"Sec-CH-Width", "700"}, "MISS", 700, varyWidth},
		{"a malformed Sec-CH-Width hides Width", auto, []string{"Sec-CH-Width", "wide", "Width", "700"}, "MISS", 1200, varyWidth},
		{"no hints", auto, nil, "HIT", 1200, varyWidth},
		{"a preset reads hints", "/t/t_resp/" + key, []string{"Sec-CH-Width", "200"}, "MISS", 200, varyWidth},
		{"a preset, another width", "/t/t_resp/" + key, []string{"Sec-CH-Width", "500"}, "MISS", 500, varyWidth},
		{"dpr_auto", s.signed("w_100,dpr_auto,f_webp", key), []string{"Sec-CH-DPR", "2"}, "MISS", 200, varyDPR},
		{"dpr_auto, legacy DPR", s.signed("w_100,dpr_auto,f_webp", key), []string{"DPR", "2"}, "HIT", 200, varyDPR},
		{"dpr_auto, another DPR", s.signed("w_100,dpr_auto,f_webp", key), []string{"Sec-CH-DPR", "3"}, "MISS", 300, varyDPR},
		{"no auto option", s.signed("w_150,f_webp", key), []string{"Sec-CH-Width", "301"}, "MISS", 150, ""},
		{"no auto option, other hints", s.signed("w_150,f_webp", key), []string{"Sec-CH-Width", "900", "Sec-CH-DPR", "3"}, "HIT", 150, ""},
	}
	for _, tt := range tests {
		r := s.hinted(tt.path, tt.hdr...)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", tt.name, r.status, r.body)
		}
		if got := r.header.Get("X-Proxy-Cache"); got != tt.cache {
			t.Errorf("%s: X-Proxy-Cache %q, want %q", tt.name, got, tt.cache)
		}
		if w := widthOf(t, r); w != tt.width {
			t.Errorf("%s: %d wide, want %d", tt.name, w, tt.width)
		}
		if got := r.header.Get("Vary"); got != tt.vary {
			t.Errorf("%s: Vary %q, want %q", tt.name, got, tt.vary)
		}
	}

	// q_auto: ECT 2g and slow-2g are one class, lower than the rest.
	q := s.signed("w_600,f_jpeg,q_auto", key)
	fast := s.hinted(q, "ECT", "4g")
	slow := s.hinted(q, "ECT", "2g")
	slower := s.hinted(q, "ECT", "slow-2g")
	if fast.header.Get("X-Proxy-Cache") != "MISS" || slow.header.Get("X-Proxy-Cache") != "MISS" || slower.header.Get("X-Proxy-Cache") != "HIT" {
		t.Errorf("q_auto with ECT 4g, 2g, slow-2g: X-Proxy-Cache %q, %q, %q; want MISS, MISS, HIT",
			fast.header.Get("X-Proxy-Cache"), slow.header.Get("X-Proxy-Cache"), slower.header.Get("X-Proxy-Cache"))
	}
	if len(slow.body) >= len(fast.body) || slow.header.Get("Vary") != "Save-Data, ECT" {
		t.Errorf("q_auto with ECT 2g: %d bytes (4g: %d), Vary %q; want fewer, %q", len(slow.body), len(fast.body), slow.header.Get("Vary"), "Save-Data, ECT")
	}
}
