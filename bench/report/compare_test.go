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
