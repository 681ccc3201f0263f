package harness

import (
	"bytes"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pictorhq/pictor/bench/report"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

func TestParseMaxFloorRatio(t *testing.T) {
	def := DefaultConfig()
	for _, c := range []struct {
		in   string
		want float64
	}{
		{"distinct:file=a.jpg,copies=10", 0},
		{"distinct:file=a.jpg,copies=10,max-floor-ratio=1.05", 1.05},
		{"widths:file=a.jpg,max-floor-ratio=2", 2},
	} {
		if s, err := ParseSpec(c.in, def); err != nil || s.MaxFloorRatio != c.want {
			t.Errorf("ParseSpec(%q) = MaxFloorRatio %v, %v; want %v", c.in, s.MaxFloorRatio, err, c.want)
		}
	}
	for _, bad := range []string{
		"cold:max-floor-ratio=1.05", "hot:max-floor-ratio=1",
		"distinct:file=a.jpg,copies=10,max-floor-ratio=-1", "distinct:file=a.jpg,copies=10,max-floor-ratio=x",
		"distinct:file=a.jpg,copies=10,max-floor-ratio=NaN", "distinct:file=a.jpg,copies=10,max-floor-ratio=Inf",
		"distinct:file=a.jpg,copies=10,min-ratio=NaN", "distinct:file=a.jpg,copies=10,max-floor-ratio=",
	} {
		if _, err := ParseSpec(bad, def); err == nil {
			t.Errorf("ParseSpec(%q) = nil error, want ErrScenario", bad)
		}
	}
}

func TestFloorChecks(t *testing.T) {
	pictor, _ := NewPictorTarget("pictor-defaults", "http://127.0.0.1:1")
	peer, _ := NewPeerTarget("imgproxy", imgproxyTemplate("127.0.0.1:2"))
	res := func(sp Spec, t *Target, reqs int64, cpu float64) *measured {
		return &measured{spec: sp, target: t, res: &report.Result{
			Scenario: sp.label(), Target: t.Label, Requests: reqs, Seconds: 20,
			Processes: []report.Process{{Name: t.Label, CPUSeconds: cpu}},
		}}
	}
	checked, _ := ParseSpec("distinct:name=jpeg,file=a.jpg,copies=800,max-floor-ratio=1.05", DefaultConfig())
	open, _ := ParseSpec("widths:name=widths,file=a.jpg", DefaultConfig())
	bare, _ := ParseSpec("distinct:name=bare,file=a.jpg,copies=9,max-floor-ratio=1.05", DefaultConfig())
	done := []*measured{
		res(checked, pictor, 400, 10), res(checked, peer, 400, 10.6), // 25 and 26.5 ms-cpu per request
		res(open, pictor, 600, 10.26), res(open, peer, 600, 22.32), // 17.1 and 37.2
		res(bare, pictor, 9, 1), res(bare, peer, 9, 1),
	}
	floor := func(cpu float64) *report.Floor {
		return &report.Floor{Label: FloorLabel, Requests: 300, Workers: 2, CPUPerRequest: cpu, Detail: "how"}
	}
	cs := comparisons(done, map[string]*report.Floor{"jpeg": floor(20), "widths": floor(18)})
	if len(cs) != 3 || cs[0].Floor == nil || cs[1].Floor == nil || cs[2].Floor != nil {
		t.Fatalf("comparisons = %+v, want the floors of jpeg and widths, none for bare", cs)
	}
	var got []report.Ratio
	for _, r := range comparisonChecks(done, cs) {
		if strings.Contains(r.Name, FloorLabel) {
			got = append(got, r)
		}
	}
	want := []struct {
		name   string
		value  float64
		target float64
		met    bool
	}{
		// 25 ÷ 20 misses 1.05; the widths scenario has no target, so its
		// ratio is reported and not checked; bare has no floor, so none.
		{"CPU ms/req, pictor-defaults ÷ libvips floor (jpeg)", 1.25, 1.05, false},
		{"CPU ms/req, pictor-defaults ÷ libvips floor (widths)", 0.95, 0, true},
	}
	if len(got) != len(want) {
		t.Fatalf("floor ratios = %+v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || round2(g.Value) != w.value || g.Target != w.target || g.Met != w.met {
			t.Errorf("ratio %d = %q %v target %v met %v; want %q %v target %v met %v", i, g.Name, g.Value, g.Target, g.Met, w.name, w.value, w.target, w.met)
		}
	}
	if !strings.Contains(got[0].Detail, "25.00 ms-cpu") || !strings.Contains(got[0].Detail, "20.00 ms-cpu") || got[0].Better != "lower" {
		t.Errorf("detail %q, better %q", got[0].Detail, got[0].Better)
	}
	met := comparisons(done, map[string]*report.Floor{"jpeg": floor(24)})
	if r, ok := floorCheck(&met[0], checked.MaxFloorRatio); !ok || !r.Met || round2(r.Value) != 1.04 {
		t.Errorf("25 ÷ 24 against 1.05 = %+v, %v; want met", r, ok)
	}
}

func TestRestamp(t *testing.T) {
	gif, err := generatedFile("generated/anim-6f-64x40.gif", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(testCorpus(t), gif) {
		if !canMakeUnique(f) {
			t.Fatalf("%s: cannot make copies", f.Name)
		}
		buf := uniqueBytes(nil, f, 7)
		for _, n := range []uint64{8, 1 << 40, 0} {
			restamp(buf, f, n)
			if want := uniqueBytes(nil, f, n); !bytes.Equal(buf, want) {
				t.Errorf("%s: restamp to %d differs from uniqueBytes(%d)", f.Name, n, n)
			}
		}
	}
}

// TestFloor measures the floor of small peer scenarios made from the
// repository's test images: distinct JPEGs → JPEG, distinct RGBA PNGs →
// WebP, one JPEG at several widths, and distinct animated GIFs → animated
// WebP. Each request costs some CPU, and what the floor makes is the size
// and format asked for.
func TestFloor(t *testing.T) {
	files := testCorpus(t)
	e := &env{pictor: &Pictor{}, seed: 3, corpus: t.TempDir(), all: files, stderr: io.Discard}
	for _, c := range []struct {
		spec   string
		n      int
		shrink int
		out    format.Format
		how    string
	}{
		{"distinct:name=jpeg,file=sample.jpg,width=100,copies=6", 6, 8, format.JPEG, "JPEG shrink-on-load by 8"},
		{"distinct:name=png,file=alpha.png,out=webp,width=120,copies=4", 4, 0, format.WebP, "no shrink-on-load"},
		{"widths:name=widths,file=sample.jpg,widths=280-289", 10, 4, format.JPEG, "JPEG shrink-on-load by 4"},
		{"distinct:name=anim,file=generated/anim-6f-64x40.gif,out=webp,width=32,copies=3", 3, 0, format.WebP, "saved as an animation"},
	} {
		sp, err := ParseSpec(c.spec, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.pool(sp)
		if err != nil {
			t.Fatal(err)
		}
		w, err := newFloorWork(sp, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.loadOptions(w.target(w.widths[0])).Shrink; got != c.shrink {
			t.Errorf("%s: shrink-on-load %d, want %d", sp.label(), got, c.shrink)
		}
		cost, wall, err := Floor(t.Context(), w, 100, 10*time.Second, 2)
		if err != nil {
			t.Fatalf("%s: %v", sp.label(), err)
		}
		if cost.Images != c.n || cost.CPU <= 0 || cost.PerImage() <= 0 || wall <= 0 {
			t.Errorf("%s: %d requests, %v CPU, %v wall; want %d requests that cost CPU", sp.label(), cost.Images, cost.CPU, wall, c.n)
		}
		if d := w.floorDetail(cost, 2); !strings.Contains(d, c.how) || !strings.Contains(d, "quality 80") {
			t.Errorf("%s: detail %q lacks %q", sp.label(), d, c.how)
		}

		// What it makes: the last request again, read back.
		last := len(w.widths) - 1
		buf, err := mapped(w.size())
		if err != nil {
			t.Fatal(err)
		}
		w.fill(buf, last, true)
		if w.copies != nil && !bytes.Equal(buf, w.copies.bytes(nil, last)) {
			t.Errorf("%s: request %d reads other bytes than its copy's", sp.label(), last)
		}
		out, err := w.make(buf, w.widths[last])
		syscall.Munmap(buf)
		if err != nil {
			t.Fatalf("%s: %v", sp.label(), err)
		}
		h, err := vips.Probe(out)
		if err != nil {
			t.Fatal(err)
		}
		tw, th := w.target(w.widths[last])
		frames := 1
		if w.animated {
			frames = 6
		}
		if h.Format != c.out || h.Width != tw || h.Height != th || h.Pages != frames {
			t.Errorf("%s: made %v %d×%d, %d frames; want %v %d×%d, %d frames", sp.label(), h.Format, h.Width, h.Height, h.Pages, c.out, tw, th, frames)
		}
	}
	if err := e.cleanup(); err != nil {
		t.Fatal(err)
	}

	// Bounded by time: a budget that ends at once still makes a request
	// per worker, and no more than it was asked for.
	sp, _ := ParseSpec("distinct:name=short,file=sample.jpg,width=100,copies=50", DefaultConfig())
	p, _ := e.pool(sp)
	w, _ := newFloorWork(sp, p)
	if cost, _, err := Floor(t.Context(), w, 50, time.Nanosecond, 2); err != nil || cost.Images < 1 || cost.Images > 2 {
		t.Errorf("Floor with no time = %d requests, %v; want 1 or 2", cost.Images, err)
	}
	if cost, _, err := Floor(t.Context(), w, 3, time.Minute, 2); err != nil || cost.Images != 3 {
		t.Errorf("Floor of 3 requests = %d, %v", cost.Images, err)
	}
}
