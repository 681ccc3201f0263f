// Package report turns a bench run into what people read: a terminal
// table, the Markdown block in docs/performance.md, a JSON results file
// and an HTML page with charts.
//
// The harness measures a Run (model.go): every scenario against every
// target, each a Result with its latency percentiles and distribution, a
// timeline of one sample per interval, and the CPU and memory of the server
// processes it watched, plus Ratios computed across results and
// Comparisons: Pictor and a peer side by side on one scenario, with
// Pictor ÷ peer for each figure. The writers
// only format; none of them measures or recomputes a figure, except the
// requests per second of each timeline interval, which the HTML charts
// derive from the interval's request count and length.
//
//   - WriteTable: aligned text, one row per result (and one per further
//     server process), then the ratios with their targets and verdicts,
//     then the comparisons.
//   - WriteMarkdown: the same as Markdown tables, comparisons first, with
//     the machine and the command, for the performance document.
//   - WriteJSON and ReadJSON: the results file, replaced atomically.
//   - WriteHTML: one self-contained page, also replaced atomically.
//
// Results are grouped by scenario, in the order the scenarios first ran,
// so that the servers measured by one scenario sit together. Every writer
// shows the same cells: three significant digits, latencies in ms, rates
// in decimal units (kB/s = 1000 B/s), resident memory in MB (10⁶ bytes),
// machine memory in GiB.
//
// The HTML charts are drawn here, in Go, as inline SVG, rather than by
// script in the page from the embedded data. That keeps one language and
// one place where figures are formatted, lets this package's tests check a
// chart without a browser, and gives a page that draws with scripts off
// and needs no script-src in its Content-Security-Policy, which allows
// nothing to be loaded (default-src 'none'): the page opens offline and
// cannot reach the network. The run is still embedded as JSON
// (script#run-data), so the page carries its own numbers. Per scenario
// there are charts of throughput and of latency percentiles over time, the
// latency CDF on a log axis, and resident memory over time when the
// harness sampled it; each server has one colour in every chart and one
// line per chart, so that servers compared in one run read side by side.
package report
