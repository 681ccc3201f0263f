package report

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// pageCSP is the policy the page must carry: nothing may be fetched, and
// nothing but its own inline styles applies.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

func writeFixturePage(t *testing.T, r *Run) (path, page string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "report.html")
	if err := WriteHTML(path, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, string(b)
}

func TestWriteHTML(t *testing.T) {
	r := fixtureRun()
	_, page := writeFixturePage(t, r)
	p := parsePage(t, page)

	if p.CSP != pageCSP {
		t.Errorf("Content-Security-Policy %q, want %q", p.CSP, pageCSP)
	}
	if len(p.Fetching) > 0 {
		t.Errorf("page names resources to fetch: %q", p.Fetching)
	}
	if p.Scripts != 0 {
		t.Errorf("page has %d scripts, want none (the charts are drawn in Go)", p.Scripts)
	}
	checkCharts(t, p.Charts, r)

	// The run travels inside the page, whole.
	var embedded Run
	if err := json.Unmarshal([]byte(p.Data), &embedded); err != nil {
		t.Fatalf("embedded run: %v", err)
	}
	if !reflect.DeepEqual(&embedded, r) {
		t.Errorf("embedded run differs from the run written")
	}

	for _, want := range []string{
		"<title>Pictor bench, 2026-11-22 06:53 UTC</title>",
		"<dt>CPU</dt><dd>AMD EPYC 7B13</dd>", "<dd>24.0 GiB</dd>",
		// The command is shown as text, quotes and all.
		"--peer nginx-image-filter=&#39;http://127.0.0.1:8082/resize/{w}/{file}&#39;",
		// The peer's cold row and the second process of pictor-nginx.
		"<td>cold</td><td><span class=\"swatch\" style=\"background: #e15759\"></span>nginx-image-filter</td>",
		"nginx<br>pictor",
		`<td class="missed">missed by 10.0%</td>`, `<td class="met">met</td>`,
		"pictor-nginx: closed, 4 conns, 30 s",
		">no timeline samples</text>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

// A name from the command line must stay text wherever it is shown.
func TestWriteHTMLEscapes(t *testing.T) {
	r := fixtureRun()
	const evil = `<img src="http://evil.invalid/x.png">`
	for i := range r.Results {
		if r.Results[i].Target == "pictor-direct" {
			r.Results[i].Target = evil
		}
	}
	r.Command = "</code></pre>" + evil
	_, page := writeFixturePage(t, r)
	p := parsePage(t, page)
	if len(p.Fetching) > 0 || strings.Contains(page, evil) {
		t.Errorf("a target's name became markup: %q", p.Fetching)
	}
	found := false
	for _, c := range p.Charts {
		found = found || legendHas(c.Legend, evil)
	}
	if !found {
		t.Errorf("no legend names the target %q as text", evil)
	}
}

func TestWriteHTMLEmpty(t *testing.T) {
	tests := []struct {
		name string
		run  *Run
		want string
	}{
		{"no results", &Run{}, "No results."},
		{"no timeline", &Run{Results: []Result{{Scenario: "hot", Target: "a", Requests: 10}}}, ">no timeline samples</text>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, page := writeFixturePage(t, tt.run)
			if !strings.Contains(page, tt.want) {
				t.Errorf("page lacks %q", tt.want)
			}
			checkCharts(t, parsePage(t, page).Charts, tt.run)
		})
	}
	if err := WriteHTML(filepath.Join(t.TempDir(), "x.html"), nil); !errors.Is(err, ErrNilRun) {
		t.Errorf("WriteHTML(nil) = %v, want %v", err, ErrNilRun)
	}
}

// BenchmarkRenderHTML measures a report of the fixture's size: 10 results,
// 30-second timelines, 50-point CDFs and sampled processes.
func BenchmarkRenderHTML(b *testing.B) {
	r := fixtureRun()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		page, err := renderHTML(r)
		if err != nil {
			b.Fatal(err)
		}
		size = len(page)
	}
	b.ReportMetric(float64(size)/1e3, "kB/page")
}
