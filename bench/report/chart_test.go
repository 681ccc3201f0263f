package report

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestNiceStep(t *testing.T) {
	tests := []struct{ raw, want float64 }{
		{0.13, 0.2},
		{1, 1},
		{1.2, 2},
		{3, 5},
		{7, 10},
		{2600, 5000},
		{0, 1},
		{math.NaN(), 1},
	}
	for _, tt := range tests {
		if got := niceStep(tt.raw); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestLinearAxis(t *testing.T) {
	tests := []struct {
		lo, hi  float64
		n       int
		percent bool
		want    []string
	}{
		{0, 30, 6, false, []string{"0", "5", "10", "15", "20", "25", "30"}},
		{0, 19427, 5, false, []string{"0", "5000", "10k", "15k", "20k"}},
		{0, 0.7, 5, false, []string{"0", "0.2", "0.4", "0.6", "0.8"}},
		{0, 1, 5, true, []string{"0%", "20%", "40%", "60%", "80%", "100%"}},
		{5, 5, 5, false, []string{"5.0", "5.2", "5.4", "5.6", "5.8", "6.0"}}, // a flat line still gets an axis
	}
	for _, tt := range tests {
		a := linearAxis(tt.lo, tt.hi, tt.n, tt.percent)
		var got []string
		for _, tk := range a.ticks {
			got = append(got, tk.label)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("linearAxis(%v, %v) ticks = %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
		if a.lo > tt.lo || a.hi < tt.hi {
			t.Errorf("linearAxis(%v, %v) = [%v, %v], does not cover the data", tt.lo, tt.hi, a.lo, a.hi)
		}
	}
}

func TestLogAxis(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []string // labelled ticks
		grid   int      // all ticks, labelled or not
	}{
		{18, 933, []string{"10", "20", "50", "100", "200", "500", "1000"}, 19},
		{0.35, 0.8, []string{"0.1", "0.2", "0.5", "1"}, 10},
		{0.5, 20000, []string{"0.1", "1", "10", "100", "1000", "10k", "100k"}, 55},
	}
	for _, tt := range tests {
		a := logAxis(tt.lo, tt.hi)
		var got []string
		for _, tk := range a.ticks {
			if tk.label != "" {
				got = append(got, tk.label)
			}
		}
		if !slices.Equal(got, tt.want) || len(a.ticks) != tt.grid {
			t.Errorf("logAxis(%v, %v) labels %q and %d ticks, want %q and %d",
				tt.lo, tt.hi, got, len(a.ticks), tt.want, tt.grid)
		}
	}
}

func TestAxisPixels(t *testing.T) {
	a := logAxis(1, 1000)
	a.p0, a.p1 = 100, 400
	for _, tt := range []struct{ v, want float64 }{{1, 100}, {10, 200}, {100, 300}, {1000, 400}} {
		if got := a.px(tt.v); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("log px(%v) = %v, want %v", tt.v, got, tt.want)
		}
	}
	b := linearAxis(0, 100, 5, false)
	b.p0, b.p1 = 260, 40 // y grows upwards
	if got := b.px(25); got != 205 {
		t.Errorf("linear px(25) = %v, want 205", got)
	}
}

func TestThroughputPoints(t *testing.T) {
	tl := []Sample{{T: 0.5, Requests: 50}, {T: 1.5, Requests: 120}, {T: 1.5, Requests: 7}, {T: 3.5, Requests: 300}}
	got := throughputPoints(tl)
	want := []point{{0.5, 100}, {1.5, 120}, {3.5, 150}}
	if !slices.Equal(got, want) {
		t.Errorf("throughputPoints = %v, want %v", got, want)
	}
	if got := throughputPoints(nil); len(got) != 0 {
		t.Errorf("throughputPoints(nil) = %v, want none", got)
	}
}

func TestChartSVG(t *testing.T) {
	c := &lineChart{
		Kind: "throughput", Scenario: "hot", Title: "Throughput: hot", XLabel: "seconds", YLabel: "requests/s",
		Series: []series{
			{Label: "a", Target: "a", Color: palette[0], Points: []point{{0, 0}, {10, 100}}},
			{Label: "b<&>", Target: "b<&>", Color: palette[1], Dash: "7 4", Points: []point{{0, 50}, {5, math.NaN()}, {10, 50}}},
		},
	}
	svg := c.svg(7)
	for _, want := range []string{
		`data-chart="throughput"`, `data-scenario="hot"`,
		// The first line runs corner to corner of the plot: (0,0) is the
		// bottom left, (10,100) the top right.
		`d="M64.0,256.0 L624.0,36.0"`,
		// The NaN is skipped, not drawn as a gap to nowhere.
		`stroke-dasharray="7 4" d="M64.0,146.0 L624.0,146.0"`,
		`<title>b&lt;&amp;&gt;</title>`, `clip-path="url(#plot-7)"`,
		`>requests/s</text>`, `>seconds</text>`, `>100</text>`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %s:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "b<&>") {
		t.Errorf("svg has a label unescaped:\n%s", svg)
	}

	empty := &lineChart{Kind: "cdf", Title: "Latency CDF", LogX: true, Empty: "no latency distribution",
		Series: []series{{Label: "a", Points: []point{{0, 0.5}}}}} // 0 cannot sit on a log axis
	svg = empty.svg(8)
	if !strings.Contains(svg, ">no latency distribution</text>") || strings.Contains(svg, "<path") {
		t.Errorf("empty chart:\n%s", svg)
	}
}
