package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart geometry in CSS pixels. A chart has a fixed size, so that two sit
// side by side on a 1400-pixel screen and the frame and grid fall on whole
// pixels; the page lets it shrink on a narrower one.
const (
	chartWidth   = 640
	plotLeft     = 64 // room for the y tick labels and the y axis label
	plotRight    = 16
	plotTop      = 36 // room for the title
	plotHeight   = 220
	plotWidth    = chartWidth - plotLeft - plotRight
	axisBelow    = 44 // x tick labels and the x axis label
	legendRow    = 20
	legendChar   = 6.8 // average width of a 12px legend character, for wrapping
	legendSwatch = 22
)

// Colours that are not a series': the plot frame has one used nowhere else,
// so that the page's test can find every plot in a screenshot.
const (
	frameColor = "#7f8794"
	gridColor  = "#e4e7eb"
	textColor  = "#333a44"
)

// palette colours the servers, Tableau 10: distinct for the common forms
// of colour blindness and readable on white. A server keeps its colour in
// every chart of a report.
var palette = []string{
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
}

// point is one vertex of a line, in data units.
type point struct{ X, Y float64 }

// series is one line of a chart.
type series struct {
	Label  string // what the line is: its tooltip
	Target string // the server it belongs to (data-target)
	Color  string
	Dash   string // stroke-dasharray; "" for a solid line
	Points []point
}

// legendEntry is one key of a chart's legend.
type legendEntry struct {
	Label, Color, Dash string
}

// lineChart is a line chart drawn as inline SVG: a title, a plot with a
// grid and ticked axes, one path per series and a legend below.
type lineChart struct {
	Kind     string // data-chart: "throughput", "latency", "cdf" or "rss"
	Scenario string // data-scenario
	Title    string
	XLabel   string
	YLabel   string
	LogX     bool
	// YMax, when not 0, fixes the top of the y axis (a CDF's 1).
	YMax float64
	// YPercent labels y ticks as percentages of 1.
	YPercent bool
	Series   []series
	// Legend, when nil, has one entry per series.
	Legend []legendEntry
	// Empty is the message drawn in place of lines when no series has
	// a point.
	Empty string
}

// axis maps data values along one axis to pixels.
type axis struct {
	lo, hi float64 // data range, after rounding out to ticks
	log    bool
	p0, p1 float64 // pixels of lo and hi
	ticks  []tick
}

type tick struct {
	v     float64
	label string // "" for a grid line without a label
}

func (a *axis) px(v float64) float64 {
	f := (v - a.lo) / (a.hi - a.lo)
	if a.log {
		f = (math.Log10(v) - math.Log10(a.lo)) / (math.Log10(a.hi) - math.Log10(a.lo))
	}
	return a.p0 + f*(a.p1-a.p0)
}

// linearAxis rounds [lo, hi] out to about n ticks at 1, 2 or 5 × 10ᵏ.
func linearAxis(lo, hi float64, n int, percent bool) axis {
	if hi <= lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / float64(n))
	a := axis{lo: math.Floor(lo/step) * step, hi: math.Ceil(hi/step) * step}
	// Count ticks by index rather than adding step repeatedly, which would
	// drift (0.1 + 0.2 ≠ 0.3).
	for i := 0; ; i++ {
		v := a.lo + float64(i)*step
		if v > a.hi+step/2 {
			break
		}
		label := tickLabel(v, step)
		if percent {
			label = tickLabel(100*v, 100*step) + "%"
		}
		a.ticks = append(a.ticks, tick{v: v, label: label})
	}
	return a
}

// logAxis rounds [lo, hi] out to whole decades. Decades are labelled; over
// at most three decades 2× and 5× are labelled too, and the other
// multiples get unlabelled grid lines.
func logAxis(lo, hi float64) axis {
	k0 := math.Floor(math.Log10(lo))
	k1 := math.Ceil(math.Log10(hi))
	if k1 <= k0 {
		k1 = k0 + 1
	}
	a := axis{lo: math.Pow(10, k0), hi: math.Pow(10, k1), log: true}
	few := k1-k0 <= 3
	for k := k0; k <= k1; k++ {
		d := math.Pow(10, k)
		for m := 1.0; m <= 9; m++ {
			v := m * d
			if v > a.hi*1.0001 {
				break
			}
			label := ""
			if m == 1 || few && (m == 2 || m == 5) {
				label = tickLabel(v, d)
			}
			a.ticks = append(a.ticks, tick{v: v, label: label})
		}
	}
	return a
}

// niceStep rounds a raw tick spacing up to 1, 2 or 5 × 10ᵏ.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		return mag
	case f <= 2:
		return 2 * mag
	case f <= 5:
		return 5 * mag
	}
	return 10 * mag
}

// tickLabel writes v with as many decimals as step needs, and thousands as
// k and millions as M where the step allows it: 0.2, 15, 2.5k, 1M.
func tickLabel(v, step float64) string {
	if math.Abs(v) < step/1e6 {
		return "0" // not 0.0, nor -0 from a rounding error
	}
	suffix := ""
	switch {
	case math.Abs(v) >= 1e6 && step >= 1e5:
		v, step, suffix = v/1e6, step/1e6, "M"
	case math.Abs(v) >= 1e4 && step >= 1e2:
		v, step, suffix = v/1e3, step/1e3, "k"
	}
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return strconv.FormatFloat(v, 'f', decimals, 64) + suffix
}

// f1 writes a pixel coordinate with one decimal, enough for a 2px line.
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// esc escapes text for SVG content and attribute values.
func esc(s string) string { return html.EscapeString(s) }

// svg draws the chart. id makes its clip path's name unique in the page.
func (c *lineChart) svg(id int) string {
	legend := c.Legend
	if legend == nil {
		for _, s := range c.Series {
			legend = append(legend, legendEntry{Label: s.Label, Color: s.Color, Dash: s.Dash})
		}
	}
	legendSVG, rows := c.legend(legend, plotTop+plotHeight+axisBelow+4)
	height := plotTop + plotHeight + axisBelow + rows*legendRow + 8

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" data-scenario="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		esc(c.Kind), esc(c.Scenario), chartWidth, height, chartWidth, height, esc(c.Title))
	fmt.Fprintf(&b, `<text class="title" x="%d" y="22" font-size="14" font-weight="600" fill="%s">%s</text>`,
		plotLeft, textColor, esc(c.Title))

	xs, ys, ok := c.extent()
	if !ok {
		fmt.Fprintf(&b, `<rect class="frame" x="%d.5" y="%d.5" width="%d" height="%d" fill="none" stroke="%s" shape-rendering="crispEdges"/>`,
			plotLeft, plotTop, plotWidth-1, plotHeight-1, frameColor)
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d" text-anchor="middle" font-size="13" fill="%s">%s</text>`,
			plotLeft+plotWidth/2, plotTop+plotHeight/2, textColor, esc(c.Empty))
		b.WriteString(`</svg>`)
		return b.String()
	}

	var xa axis
	if c.LogX {
		xa = logAxis(xs[0], xs[1])
	} else {
		xa = linearAxis(math.Min(0, xs[0]), xs[1], 6, false)
	}
	xa.p0, xa.p1 = plotLeft, plotLeft+plotWidth
	ya := linearAxis(math.Min(0, ys[0]), ys[1], 5, c.YPercent)
	if c.YMax > 0 {
		ya = linearAxis(0, c.YMax, 5, c.YPercent)
	}
	ya.p0, ya.p1 = plotTop+plotHeight, plotTop

	// Grid and tick labels. Grid lines sit on the middle of a pixel so
	// that they are drawn one pixel wide and sharp.
	b.WriteString(`<g class="grid" stroke="` + gridColor + `" stroke-width="1" shape-rendering="crispEdges">`)
	for _, t := range xa.ticks {
		x := math.Floor(xa.px(t.v)) + 0.5
		fmt.Fprintf(&b, `<line x1="%s" y1="%d" x2="%s" y2="%d"/>`, f1(x), plotTop, f1(x), plotTop+plotHeight)
	}
	for _, t := range ya.ticks {
		y := math.Floor(ya.px(t.v)) + 0.5
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s"/>`, plotLeft, f1(y), plotLeft+plotWidth, f1(y))
	}
	b.WriteString(`</g><g class="ticks" font-size="11" fill="` + textColor + `">`)
	for _, t := range xa.ticks {
		if t.label != "" {
			fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`,
				f1(xa.px(t.v)), plotTop+plotHeight+15, esc(t.label))
		}
	}
	for _, t := range ya.ticks {
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end">%s</text>`,
			plotLeft-6, f1(ya.px(t.v)+4), esc(t.label))
	}
	b.WriteString(`</g>`)
	fmt.Fprintf(&b, `<text class="xlabel" x="%d" y="%d" text-anchor="middle" font-size="12" fill="%s">%s</text>`,
		plotLeft+plotWidth/2, plotTop+plotHeight+34, textColor, esc(c.XLabel))
	fmt.Fprintf(&b, `<text class="ylabel" transform="translate(16 %d) rotate(-90)" text-anchor="middle" font-size="12" fill="%s">%s</text>`,
		plotTop+plotHeight/2, textColor, esc(c.YLabel))

	// The lines, clipped to the plot so that a wide stroke at an edge
	// does not paint over the axes.
	fmt.Fprintf(&b, `<defs><clipPath id="plot-%d"><rect x="%d" y="%d" width="%d" height="%d"/></clipPath></defs>`,
		id, plotLeft, plotTop, plotWidth, plotHeight)
	fmt.Fprintf(&b, `<g clip-path="url(#plot-%d)" fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">`, id)
	for _, s := range c.Series {
		d := c.path(s.Points, &xa, &ya)
		if d == "" {
			continue
		}
		fmt.Fprintf(&b, `<path class="series" data-target="%s" stroke="%s"`, esc(s.Target), esc(s.Color))
		if s.Dash != "" {
			fmt.Fprintf(&b, ` stroke-dasharray="%s"`, esc(s.Dash))
		}
		fmt.Fprintf(&b, ` d="%s"><title>%s</title></path>`, d, esc(s.Label))
	}
	b.WriteString(`</g>`)
	// The frame goes on top of the lines, so that it stays whole.
	fmt.Fprintf(&b, `<rect class="frame" x="%d.5" y="%d.5" width="%d" height="%d" fill="none" stroke="%s" shape-rendering="crispEdges"/>`,
		plotLeft, plotTop, plotWidth-1, plotHeight-1, frameColor)
	b.WriteString(legendSVG)
	b.WriteString(`</svg>`)
	return b.String()
}

// extent is the range of the points that can be drawn (positive x only on
// a log axis); ok is false when there are none.
func (c *lineChart) extent() (xs, ys [2]float64, ok bool) {
	xs = [2]float64{math.Inf(1), math.Inf(-1)}
	ys = xs
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !c.drawable(p) {
				continue
			}
			ok = true
			xs[0], xs[1] = math.Min(xs[0], p.X), math.Max(xs[1], p.X)
			ys[0], ys[1] = math.Min(ys[0], p.Y), math.Max(ys[1], p.Y)
		}
	}
	return xs, ys, ok
}

func (c *lineChart) drawable(p point) bool {
	finite := !math.IsNaN(p.X) && !math.IsInf(p.X, 0) && !math.IsNaN(p.Y) && !math.IsInf(p.Y, 0)
	return finite && (!c.LogX || p.X > 0)
}

// path is the SVG path data through a series' drawable points.
func (c *lineChart) path(pts []point, xa, ya *axis) string {
	var b strings.Builder
	for _, p := range pts {
		if !c.drawable(p) {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("M")
		} else {
			b.WriteString(" L")
		}
		b.WriteString(f1(xa.px(p.X)))
		b.WriteByte(',')
		b.WriteString(f1(ya.px(p.Y)))
	}
	return b.String()
}

// legend lays the entries out in rows from the plot's left edge, wrapping
// at its right edge, and returns the SVG and the number of rows.
func (c *lineChart) legend(entries []legendEntry, top int) (string, int) {
	if len(entries) == 0 {
		return "", 0
	}
	var b strings.Builder
	b.WriteString(`<g class="legend" font-size="12" fill="` + textColor + `">`)
	x, row := float64(plotLeft), 0
	for _, e := range entries {
		w := legendSwatch + 6 + legendChar*float64(len([]rune(e.Label))) + 16
		if x > plotLeft && x+w > plotLeft+plotWidth {
			x, row = plotLeft, row+1
		}
		y := float64(top + row*legendRow + legendRow/2)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"`,
			f1(x), f1(y), f1(x+legendSwatch), f1(y), esc(e.Color))
		if e.Dash != "" {
			fmt.Fprintf(&b, ` stroke-dasharray="%s"`, esc(e.Dash))
		}
		fmt.Fprintf(&b, `/><text class="legend-label" x="%s" y="%s">%s</text>`,
			f1(x+legendSwatch+6), f1(y+4), esc(e.Label))
		x += w
	}
	b.WriteString(`</g>`)
	return b.String(), row + 1
}
