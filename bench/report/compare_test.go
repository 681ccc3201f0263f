package report

import (
	"bytes"
	"strings"
	"testing"
)

func comparisonRun() *Run {
	r := fixtureRun()
	r.Comparisons = []Comparison{{
		Scenario: "imgproxy-png-webp",
		Workload: "300 distinct originals (copies of photo-3700x2400.png) → w_400,f_webp,q_80 (webp); 4 connections",
		Pictor: Side{Target: "pictor-defaults", Requests: 46, Throughput: 2.3, CPUPerRequest: 804, P50: 1700, P99: 2100,
			BytesPerRequest: 31000, PeakRSSBytes: 234e6},
		Peer: Side{Target: "imgproxy", Requests: 144, Throughput: 7.2, CPUPerRequest: 233, P50: 550, P99: 700,
			BytesPerRequest: 30000, PeakRSSBytes: 263e6, Errors: 1},
	}}
	return r
}

func TestComparisonTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, comparisonRun()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	i := strings.Index(out, "PEER SCENARIO")
	if i < 0 {
		t.Fatalf("no comparison table:\n%s", out)
	}
	lines := strings.Split(out[i:], "\n")
	for n, want := range [][]string{
		{"PEER SCENARIO", "SERVER", "REQ/S", "CPU MS/REQ", "P99 MS", "BYTES/REQ", "PEAK RSS"},
		{"imgproxy-png-webp", "pictor-defaults", "2.30", "804", "31.0 kB", "234.0 MB", " 0"},
		{"imgproxy", "7.20", "233", "263.0 MB", " 1"},
		{"pictor-defaults ÷ imgproxy", "0.319×", "3.45×", "1.03×", "0.890×"},
		{"imgproxy-png-webp: 300 distinct originals"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[n], w) {
				t.Errorf("line %d %q lacks %q", n, lines[n], w)
			}
		}
	}
}

func TestComparisonMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, comparisonRun()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| scenario | server | req/s | CPU ms/req | p50 ms | p99 ms | bytes/req | peak RSS | errors |",
		"| imgproxy-png-webp: 300 distinct originals (copies of photo-3700x2400.png) → w\\_400,f\\_webp,q\\_80 (webp); 4 connections | pictor-defaults | 2.30 | 804 |",
		"|  | imgproxy | 7.20 | 233 |",
		"|  | **pictor-defaults ÷ imgproxy** | **0.319×** | **3.45×** |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, out)
		}
	}
	// The comparison leads: a reader comes for it.
	if strings.Index(out, "pictor-defaults ÷ imgproxy") > strings.Index(out, "| scenario | target |") {
		t.Errorf("the comparison is not before the results table:\n%s", out)
	}
}

func TestComparisonRatioUnknown(t *testing.T) {
	c := Comparison{Pictor: Side{Throughput: 3}, Peer: Side{Throughput: 0, PeakRSSBytes: 5}}
	if q := c.Ratio(); q.Throughput != 0 || q.PeakRSS != 0 || times(q.PeakRSS) != missing {
		t.Errorf("Ratio with unknown figures = %+v, want 0 (shown as %q)", q, missing)
	}
}

// floorRun is comparisonRun with the libvips floor measured: 201 ms-cpu,
// so that Pictor is at 4× the floor and imgproxy at 1.16×.
func floorRun() *Run {
	r := comparisonRun()
	r.Comparisons[0].Floor = &Floor{Label: "libvips floor", Requests: 40, Workers: 2, Seconds: 8, CPUPerRequest: 201,
		Detail: "vips.Load, Resize, Save in the harness"}
	return r
}

// The floor's rows follow the comparison in every writer: the floor with
// its CPU alone, then each server's CPU over it.
func TestComparisonFloor(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, floorRun()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out[strings.Index(out, "PEER SCENARIO"):], "\n")
	for n, want := range [][]string{
		4: {"libvips floor", "201", " -"},
		5: {"pictor-defaults ÷ libvips floor", "4.00×"},
		6: {"imgproxy ÷ libvips floor", "1.16×"},
		7: {"imgproxy-png-webp: 300 distinct originals"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[n], w) {
				t.Errorf("line %d %q lacks %q", n, lines[n], w)
			}
		}
	}
	if f := strings.Fields(lines[5]); len(f) != 5 || f[4] != "4.00×" {
		t.Errorf("ratio row %q shows cells other than CPU", lines[5])
	}

	b.Reset()
	if err := WriteMarkdown(&b, floorRun()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"|  | **pictor-defaults ÷ imgproxy** | **0.319×** |",
		"|  | libvips floor | - | 201 | - | - | - | - |  |",
		"|  | **pictor-defaults ÷ libvips floor** |  | **4.00×** |  |  |  |  |  |",
		"|  | **imgproxy ÷ libvips floor** |  | **1.16×** |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, b.String())
		}
	}

	_, page := writeFixturePage(t, floorRun())
	for _, want := range []string{
		"<h2>Pictor beside peers</h2>",
		`<td class="detail" rowspan="6"><b>imgproxy-png-webp</b>: 300 distinct originals`,
		`<td>libvips floor</td><td class="n">-</td><td class="n">201</td>`,
		`<tr class="ratio">` + "\n" + `<td>pictor-defaults ÷ libvips floor</td><td class="n"></td><td class="n">4.00×</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// Without a floor the page has the comparison's three rows, and no
	// fixture without comparisons has the table at all.
	if _, page := writeFixturePage(t, comparisonRun()); !strings.Contains(page, `rowspan="3"`) || strings.Contains(page, "libvips floor") {
		t.Errorf("page of a comparison without a floor:\n%s", page)
	}
	if _, page := writeFixturePage(t, fixtureRun()); strings.Contains(page, "Pictor beside peers") {
		t.Errorf("page of a run without comparisons has the peers table")
	}
}

func TestFloorRatio(t *testing.T) {
	c := Comparison{Pictor: Side{CPUPerRequest: 21}, Peer: Side{CPUPerRequest: 0}}
	if p, q := c.FloorRatio(); p != 0 || q != 0 {
		t.Errorf("FloorRatio without a floor = %v, %v; want 0, 0", p, q)
	}
	c.Floor = &Floor{CPUPerRequest: 20}
	if p, q := c.FloorRatio(); p != 1.05 || q != 0 {
		t.Errorf("FloorRatio = %v, %v; want 1.05 (21 ÷ 20) and 0 (the peer's CPU unknown)", p, q)
	}
}
