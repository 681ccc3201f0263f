package report

import (
	"math"
	"testing"
)

func TestNum(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{0.0412, "0.0412"},
		{3.14159, "3.14"},
		{27.54, "27.5"},
		{9.996, "10.0"},
		{99.96, "100"},
		{15234.4, "15234"},
		{-2.5, "-2.50"},
		{math.NaN(), "-"},
		{math.Inf(1), "-"},
	}
	for _, tt := range tests {
		if got := num(tt.in); got != tt.want {
			t.Errorf("num(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSIBytes(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0 B"},
		{812, "812 B"},
		{999.6, "1.00 kB"},
		{45_300, "45.3 kB"},
		{12_100_000, "12.1 MB"},
		{1.25e9, "1.25 GB"},
		{math.NaN(), "-"},
	}
	for _, tt := range tests {
		if got := siBytes(tt.in); got != tt.want {
			t.Errorf("siBytes(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMegabytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "-"},
		{150_340_000, "150.3 MB"},
		{200 << 20, "209.7 MB"}, // 200 MiB is 209.7 MB: the unit is decimal
	}
	for _, tt := range tests {
		if got := megabytes(tt.in); got != tt.want {
			t.Errorf("megabytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorsText(t *testing.T) {
	tests := []struct {
		in   map[string]int64
		want string
	}{
		{nil, "-"},
		{map[string]int64{"429": 0}, "-"},
		{map[string]int64{"timeout": 1, "429": 12}, "429:12 timeout:1"},
		{map[string]int64{"conn": 2, "503": 1, "timeout": 4, "429": 7}, "429:7 503:1 conn:2 timeout:4"},
	}
	for _, tt := range tests {
		if got := errorsText(tt.in); got != tt.want {
			t.Errorf("errorsText(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		in   Result
		want string
	}{
		{Result{Mode: "closed", Connections: 64}, "closed, 64 conns"},
		{Result{Mode: "closed", Connections: 1}, "closed, 1 conn"},
		{Result{Mode: "open", Connections: 16, Rate: 500}, "open, 500/s, 16 conns"},
		{Result{Connections: 8}, "8 conns"},
	}
	for _, tt := range tests {
		if got := load(&tt.in); got != tt.want {
			t.Errorf("load(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRatioVerdict(t *testing.T) {
	tests := []struct {
		in              Ratio
		target, verdict string
	}{
		{Ratio{Value: 1.04, Target: 1.10, Better: "lower", Met: true}, "≤ 1.1", "met"},
		{Ratio{Value: 1.21, Target: 1.10, Better: "lower"}, "≤ 1.1", "missed by 10.0%"},
		{Ratio{Value: 12000, Target: 15000, Better: "higher"}, "≥ 15000", "missed by 20.0%"},
		{Ratio{Value: 3, Target: 2}, "2", "missed"},
		{Ratio{Value: 0.042}, "-", "-"},
	}
	for _, tt := range tests {
		if got := ratioTarget(&tt.in); got != tt.target {
			t.Errorf("ratioTarget(%+v) = %q, want %q", tt.in, got, tt.target)
		}
		if got := ratioVerdict(&tt.in); got != tt.verdict {
			t.Errorf("ratioVerdict(%+v) = %q, want %q", tt.in, got, tt.verdict)
		}
	}
}

func TestOrdered(t *testing.T) {
	in := []Result{
		{Scenario: "cold", Target: "a"}, {Scenario: "hot", Target: "a"},
		{Scenario: "cold", Target: "b"}, {Scenario: "hot", Target: "b"},
	}
	var got []string
	for _, r := range ordered(in) {
		got = append(got, r.Scenario+"/"+r.Target)
	}
	want := []string{"cold/a", "cold/b", "hot/a", "hot/b"}
	if len(got) != len(want) {
		t.Fatalf("ordered = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ordered = %v, want %v", got, want)
		}
	}
}
