package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"slices"
)

//go:embed report.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("report").Parse(pageSource))

// WriteHTML writes r to path as one self-contained HTML page: the summary,
// the ratios, the machine and command, and per scenario its charts, drawn
// here as inline SVG. The page loads nothing (its Content-Security-Policy
// forbids it) and runs no script; the run itself is embedded as JSON, so
// that the page carries its own data. The file is replaced atomically.
func WriteHTML(path string, r *Run) error {
	if r == nil {
		return ErrNilRun
	}
	b, err := renderHTML(r)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// Page model: what the template needs, already formatted.

type page struct {
	Title   string
	Started string
	Machine []fact
	Command string
	// Peers is Pictor beside each peer, as the text and Markdown tables
	// have it.
	Peers    []peerTable
	Rows     []summaryRow
	Ratios   []ratioRow
	Sections []section
	// Data is the run as JSON. encoding/json escapes <, > and &, so it
	// cannot close its script element.
	Data template.JS
}

type fact struct{ Name, Value string }

type summaryRow struct {
	Scenario, Target, Load                         string
	Color                                          template.CSS // from palette
	Requests, Throughput, P50, P90, P99, Max, Errs string
	BytesPerSec                                    string
	Processes                                      []processCell
}

type processCell struct{ Name, CPU, RSS string }

type ratioRow struct {
	Name, Value, Target, Verdict, Detail string
	Met, HasTarget                       bool
}

// peerTable is one comparison: the scenario, its workload in words, and
// its rows (compareRows).
type peerTable struct {
	Scenario, Workload string
	Rows               []compareRow
}

type section struct {
	Scenario string
	Loads    []string
	Charts   []template.HTML
}

func renderHTML(r *Run) ([]byte, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("report: encode run: %w", err)
	}
	p := page{
		Title:   "Pictor bench, " + startedText(r),
		Started: startedText(r),
		Command: r.Command,
		Data:    template.JS(data),
	}
	m := &r.Machine
	for _, f := range []fact{
		{"CPU", m.CPU},
		{"Cores", intText(m.Cores)},
		{"Memory", gibibytes(m.MemBytes)},
		{"Kernel", m.Kernel},
		{"OS", m.OS},
		{"Go", m.GoVersion},
	} {
		if f.Value == "" || f.Value == missing {
			continue
		}
		p.Machine = append(p.Machine, f)
	}

	res := ordered(r.Results)
	labels := seriesLabels(res)
	colors := map[string]string{}
	colorOf := func(label string) string {
		c, ok := colors[label]
		if !ok {
			c = palette[len(colors)%len(palette)]
			colors[label] = c
		}
		return c
	}
	for _, x := range res {
		row := summaryRow{
			Scenario: x.Scenario, Target: labels[x], Color: template.CSS(colorOf(labels[x])), Load: load(x),
			Requests: fmt.Sprint(x.Requests), Throughput: num(x.Throughput),
			P50: num(x.Latency.P50), P90: num(x.Latency.P90), P99: num(x.Latency.P99), Max: num(x.Latency.Max),
			Errs: errorsText(x.Errors), BytesPerSec: siBytes(x.BytesPerSec) + "/s",
		}
		for _, pr := range x.Processes {
			row.Processes = append(row.Processes, processCell{pr.Name, num(pr.CPUPerRequest), megabytes(pr.PeakRSSBytes)})
		}
		p.Rows = append(p.Rows, row)
	}
	for i := range r.Comparisons {
		c := &r.Comparisons[i]
		p.Peers = append(p.Peers, peerTable{Scenario: c.Scenario, Workload: c.Workload, Rows: compareRows(c)})
	}
	for i := range r.Ratios {
		q := &r.Ratios[i]
		p.Ratios = append(p.Ratios, ratioRow{
			Name: q.Name, Value: num(q.Value), Target: ratioTarget(q), Verdict: ratioVerdict(q),
			Detail: q.Detail, Met: q.Met, HasTarget: q.Target != 0,
		})
	}

	id := 0
	for _, group := range byScenario(res) {
		s := section{Scenario: group[0].Scenario}
		for _, x := range group {
			l := labels[x] + ": " + load(x)
			if x.Seconds > 0 {
				l += fmt.Sprintf(", %.0f s", x.Seconds)
			}
			s.Loads = append(s.Loads, l)
		}
		// svg escapes every text it draws, so its output is safe as HTML.
		for _, c := range scenarioCharts(group, labels, colorOf) {
			id++
			s.Charts = append(s.Charts, template.HTML(c.svg(id)))
		}
		p.Sections = append(p.Sections, s)
	}

	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, &p); err != nil {
		return nil, fmt.Errorf("report: render html: %w", err)
	}
	return b.Bytes(), nil
}

func intText(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprint(n)
}

// byScenario splits ordered results into runs of one scenario.
func byScenario(res []*Result) [][]*Result {
	var out [][]*Result
	for i, x := range res {
		if i == 0 || x.Scenario != res[i-1].Scenario {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], x)
	}
	return out
}

// seriesLabels names each result's lines: its target, or, when one
// scenario measured a target more than once (at two loads, say), the target
// and the load, so that the lines can be told apart.
func seriesLabels(res []*Result) map[*Result]string {
	seen := map[[2]string]int{}
	for _, x := range res {
		seen[[2]string{x.Scenario, x.Target}]++
	}
	labels := make(map[*Result]string, len(res))
	for _, x := range res {
		labels[x] = x.Target
		if seen[[2]string{x.Scenario, x.Target}] > 1 {
			labels[x] = x.Target + " (" + load(x) + ")"
		}
	}
	return labels
}

// percentileDash tells the latency percentiles apart within one server's
// colour: p50 solid, p90 dashed, p99 dotted.
var percentileDash = []struct {
	name string
	dash string
	of   func(*Sample) float64
}{
	{"p50", "", func(s *Sample) float64 { return s.P50 }},
	{"p90", "7 4", func(s *Sample) float64 { return s.P90 }},
	{"p99", "1.5 3.5", func(s *Sample) float64 { return s.P99 }},
}

// processDash tells a server's processes apart in the RSS chart.
var processDash = []string{"", "7 4", "1.5 3.5", "10 3 2 3"}

// scenarioCharts makes one scenario's charts: throughput and latency over
// time, the latency CDF, and RSS over time when any process was sampled.
func scenarioCharts(group []*Result, labels map[*Result]string, colorOf func(string) string) []*lineChart {
	scenario := group[0].Scenario
	tput := &lineChart{
		Kind: "throughput", Scenario: scenario, Title: "Throughput: " + scenario,
		XLabel: "seconds", YLabel: "requests/s", Empty: "no timeline samples",
	}
	lat := &lineChart{
		Kind: "latency", Scenario: scenario, Title: "Latency over time: " + scenario,
		XLabel: "seconds", YLabel: "ms", Empty: "no timeline samples",
	}
	cdf := &lineChart{
		Kind: "cdf", Scenario: scenario, Title: "Latency CDF: " + scenario,
		XLabel: "latency, ms (log scale)", YLabel: "requests at most", LogX: true,
		YMax: 1, YPercent: true, Empty: "no latency distribution",
	}
	rss := &lineChart{
		Kind: "rss", Scenario: scenario, Title: "Resident memory: " + scenario,
		XLabel: "seconds", YLabel: "MB",
	}
	for _, x := range group {
		label, color := labels[x], colorOf(labels[x])
		tput.Series = append(tput.Series, series{
			Label: label, Target: x.Target, Color: color, Points: throughputPoints(x.Timeline),
		})
		lat.Legend = append(lat.Legend, legendEntry{Label: label, Color: color})
		for _, pc := range percentileDash {
			s := series{Label: label + " " + pc.name, Target: x.Target, Color: color, Dash: pc.dash}
			for i := range x.Timeline {
				s.Points = append(s.Points, point{x.Timeline[i].T, pc.of(&x.Timeline[i])})
			}
			lat.Series = append(lat.Series, s)
		}
		c := series{Label: label, Target: x.Target, Color: color}
		for _, q := range x.CDF {
			c.Points = append(c.Points, point{q.LatencyMs, q.Fraction})
		}
		cdf.Series = append(cdf.Series, c)
		for i, pr := range x.Processes {
			if len(pr.RSS) == 0 {
				continue
			}
			s := series{
				Label: label + " · " + pr.Name, Target: x.Target, Color: color,
				Dash: processDash[i%len(processDash)],
			}
			for _, q := range pr.RSS {
				s.Points = append(s.Points, point{q.T, float64(q.Bytes) / 1e6})
			}
			rss.Series = append(rss.Series, s)
		}
	}
	// The percentiles' line styles join the servers' colours in the
	// latency legend, in grey, once each instead of once per server.
	for _, pc := range percentileDash {
		lat.Legend = append(lat.Legend, legendEntry{Label: pc.name, Color: textColor, Dash: pc.dash})
	}
	charts := []*lineChart{tput, lat, cdf}
	if len(rss.Series) > 0 {
		charts = append(charts, rss)
	}
	return charts
}

// throughputPoints turns a timeline into requests per second for each
// interval, at the interval's end. An interval runs from the previous
// sample (or the start) to this one; a sample that does not advance the
// clock has no rate and is skipped.
func throughputPoints(tl []Sample) []point {
	pts := make([]point, 0, len(tl))
	prev := 0.0
	for _, s := range tl {
		dt := s.T - prev
		if dt > 0 && !math.IsNaN(dt) {
			pts = append(pts, point{s.T, float64(s.Requests) / dt})
			prev = s.T
		}
	}
	return slices.Clip(pts)
}
