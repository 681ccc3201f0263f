package report

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// What the tests read back from a page: its charts and the elements that
// could load something. The page is parsed with encoding/xml in its
// forgiving HTML mode, which is enough for the markup WriteHTML writes and
// for Chromium's serialisation of the same DOM.

type domChart struct {
	Kind, Scenario string
	Paths          []domPath
	Legend         []string // legend labels, in order
	Empty          string   // the no-data message, if drawn
}

type domPath struct {
	Target, Stroke string
	Points         int // vertices in its d attribute
}

type domPage struct {
	Charts []*domChart
	CSP    string // the Content-Security-Policy meta tag's content
	// Fetching lists every attribute that names a resource to fetch (src,
	// href other than a fragment, srcset, poster, data, action, xlink:href
	// to a non-fragment), as element.attr=value.
	Fetching []string
	Data     string // the text of script#run-data
	Scripts  int    // script elements other than JSON data blocks
}

func parsePage(t *testing.T, page string) *domPage {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	p := &domPage{}
	var chart *domChart
	var text *strings.Builder // collecting the current element's text
	var textDone func(string)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse page: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			a := attrs(e)
			name := strings.ToLower(e.Name.Local)
			for _, k := range []string{"src", "href", "srcset", "poster", "data", "action", "formaction", "background"} {
				if v, ok := a[k]; ok && !strings.HasPrefix(v, "#") {
					p.Fetching = append(p.Fetching, name+"."+k+"="+v)
				}
			}
			switch {
			case name == "meta" && strings.EqualFold(a["http-equiv"], "content-security-policy"):
				p.CSP = a["content"]
			case name == "script" && a["type"] == "application/json":
				text = &strings.Builder{}
				textDone = func(s string) {
					if a["id"] == "run-data" {
						p.Data = s
					}
				}
			case name == "script":
				p.Scripts++
			case name == "svg" && hasClass(a, "chart"):
				chart = &domChart{Kind: a["data-chart"], Scenario: a["data-scenario"]}
				p.Charts = append(p.Charts, chart)
			case chart != nil && name == "path" && hasClass(a, "series"):
				chart.Paths = append(chart.Paths, domPath{
					Target: a["data-target"], Stroke: a["stroke"],
					Points: strings.Count(a["d"], "L") + strings.Count(a["d"], "M"),
				})
			case chart != nil && name == "text" && hasClass(a, "legend-label"):
				c := chart
				text = &strings.Builder{}
				textDone = func(s string) { c.Legend = append(c.Legend, s) }
			case chart != nil && name == "text" && hasClass(a, "empty"):
				c := chart
				text = &strings.Builder{}
				textDone = func(s string) { c.Empty = s }
			}
		case xml.CharData:
			if text != nil {
				text.Write(e)
			}
		case xml.EndElement:
			name := strings.ToLower(e.Name.Local)
			if text != nil && (name == "text" || name == "script") {
				textDone(text.String())
				text, textDone = nil, nil
			}
			if name == "svg" {
				chart = nil
			}
		}
	}
	return p
}

func attrs(e xml.StartElement) map[string]string {
	m := make(map[string]string, len(e.Attr))
	for _, a := range e.Attr {
		k := strings.ToLower(a.Name.Local)
		if a.Name.Space != "" {
			k = strings.ToLower(a.Name.Space) + ":" + k
		}
		m[k] = a.Value
	}
	return m
}

func hasClass(a map[string]string, class string) bool {
	return strings.Contains(" "+a["class"]+" ", " "+class+" ")
}

// wantCharts is what the charts of r should hold: per scenario, in the
// order WriteHTML draws them, each chart's kind and its number of lines
// per target (none for an empty chart); its legend must name each target.
type wantChart struct {
	Kind, Scenario string
	Lines          map[string]int // target → lines
}

func expectedCharts(r *Run) []wantChart {
	var out []wantChart
	for _, group := range byScenario(ordered(r.Results)) {
		sc := group[0].Scenario
		tput := wantChart{Kind: "throughput", Scenario: sc, Lines: map[string]int{}}
		lat := wantChart{Kind: "latency", Scenario: sc, Lines: map[string]int{}}
		cdf := wantChart{Kind: "cdf", Scenario: sc, Lines: map[string]int{}}
		rss := wantChart{Kind: "rss", Scenario: sc, Lines: map[string]int{}}
		for _, x := range group {
			if len(x.Timeline) > 0 {
				tput.Lines[x.Target]++
				lat.Lines[x.Target] += 3 // p50, p90, p99
			}
			if len(x.CDF) > 0 {
				cdf.Lines[x.Target]++
			}
			for _, p := range x.Processes {
				if len(p.RSS) > 0 {
					rss.Lines[x.Target]++
				}
			}
		}
		out = append(out, tput, lat, cdf)
		if len(rss.Lines) > 0 {
			out = append(out, rss)
		}
	}
	return out
}

// checkCharts compares the charts found in a page with what r should
// draw: every line present, with its server's colour, and long enough to
// be a line; every server in the legend; empty charts saying so.
func checkCharts(t *testing.T, got []*domChart, r *Run) {
	t.Helper()
	want := expectedCharts(r)
	if len(got) != len(want) {
		t.Fatalf("page has %d charts, want %d", len(got), len(want))
	}
	colours := map[string]string{} // target → stroke, the same in every chart
	for i, w := range want {
		g := got[i]
		name := w.Scenario + "/" + w.Kind
		if g.Kind != w.Kind || g.Scenario != w.Scenario {
			t.Errorf("chart %d is %s/%s, want %s", i, g.Scenario, g.Kind, name)
			continue
		}
		lines := map[string]int{}
		for _, p := range g.Paths {
			lines[p.Target]++
			if p.Points < 10 {
				t.Errorf("%s: a line of %s has %d points, want at least 10", name, p.Target, p.Points)
			}
			if c, ok := colours[p.Target]; ok && c != p.Stroke {
				t.Errorf("%s: %s drawn in %s, elsewhere in %s", name, p.Target, p.Stroke, c)
			}
			colours[p.Target] = p.Stroke
		}
		if len(lines) != len(w.Lines) {
			t.Errorf("%s: lines per target %v, want %v", name, lines, w.Lines)
		}
		for target, n := range w.Lines {
			if lines[target] != n {
				t.Errorf("%s: %d lines for %s, want %d", name, lines[target], target, n)
			}
			if !legendHas(g.Legend, target) {
				t.Errorf("%s: legend %q does not name %s", name, g.Legend, target)
			}
		}
		if len(w.Lines) == 0 && g.Empty == "" {
			t.Errorf("%s: no lines and no message saying so", name)
		}
	}
	seen := map[string]string{}
	for target, c := range colours {
		if other, ok := seen[c]; ok {
			t.Errorf("%s and %s share the colour %s", target, other, c)
		}
		seen[c] = target
	}
}

func legendHas(legend []string, target string) bool {
	for _, l := range legend {
		if l == target || strings.HasPrefix(l, target+" ") {
			return true
		}
	}
	return false
}
