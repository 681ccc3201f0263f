package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// ErrNilRun is returned by every writer when it is given no run.
var ErrNilRun = errors.New("report: nil run")

// tableHeader names the terminal table's columns; latencies are in
// milliseconds, CPU in milliseconds per request.
var tableHeader = []string{
	"SCENARIO", "TARGET", "LOAD", "REQUESTS", "REQ/S",
	"P50 ms", "P90 ms", "P99 ms", "MAX ms", "ERRORS", "BYTES/S",
	"PROCESS", "CPU ms/req", "PEAK RSS",
}

// WriteTable writes r as aligned text for a terminal: one row per result
// (scenarios together, in the order they ran), with one more row for each
// further server process the harness watched, then the ratios with their
// targets and whether each was met, then Pictor beside each peer.
func WriteTable(w io.Writer, r *Run) error {
	if r == nil {
		return ErrNilRun
	}
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	row := func(cells ...string) {
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	row(tableHeader...)
	for _, res := range ordered(r.Results) {
		cells := []string{
			res.Scenario, res.Target, load(res),
			fmt.Sprint(res.Requests), num(res.Throughput),
			num(res.Latency.P50), num(res.Latency.P90), num(res.Latency.P99), num(res.Latency.Max),
			errorsText(res.Errors), siBytes(res.BytesPerSec) + "/s",
		}
		if len(res.Processes) == 0 {
			row(append(cells, missing, missing, missing)...)
			continue
		}
		// The first process shares the result's row; the others continue
		// it below with the result's cells left blank, so that the
		// process columns still line up.
		for i, p := range res.Processes {
			if i > 0 {
				cells = make([]string, len(tableHeader)-3)
			}
			row(append(cells, p.Name, num(p.CPUPerRequest), megabytes(p.PeakRSSBytes))...)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Results) == 0 {
		fmt.Fprintln(bw, "(no results)")
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintln(bw)
		tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		row("RATIO", "VALUE", "TARGET", "RESULT")
		for i := range r.Ratios {
			q := &r.Ratios[i]
			row(q.Name, num(q.Value), ratioTarget(q), ratioVerdict(q))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if err := writeComparisonTable(bw, r.Comparisons); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteMarkdown writes r as Markdown for the performance document: the
// machine, when the run started and the command that produced it, then
// Pictor beside each peer (the figures a reader comes for), the results
// table and the ratios table. It starts with no heading, so that it fits
// under any.
func WriteMarkdown(w io.Writer, r *Run) error {
	if r == nil {
		return ErrNilRun
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Measured on %s, %s.\n\n", md(machineText(&r.Machine)), startedText(r))
	if r.Command != "" {
		// A fence longer than any backtick run in the command keeps it intact.
		fence := "```"
		for strings.Contains(r.Command, fence) {
			fence += "`"
		}
		fmt.Fprintf(bw, "%ssh\n%s\n%s\n\n", fence, r.Command, fence)
	}
	if len(r.Comparisons) > 0 {
		writeComparisonMarkdown(bw, r.Comparisons)
		fmt.Fprintln(bw)
	}
	if len(r.Results) == 0 {
		fmt.Fprintln(bw, "No results.")
	} else {
		fmt.Fprintln(bw, "| scenario | target | load | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | bytes/s | CPU ms/req | peak RSS |")
		fmt.Fprintln(bw, "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|")
		for _, res := range ordered(r.Results) {
			cpu, rss := processCells(res.Processes)
			cells := []string{
				res.Scenario, res.Target, load(res),
				fmt.Sprint(res.Requests), num(res.Throughput),
				num(res.Latency.P50), num(res.Latency.P90), num(res.Latency.P99), num(res.Latency.Max),
				errorsText(res.Errors), siBytes(res.BytesPerSec) + "/s", cpu, rss,
			}
			for i, c := range cells {
				cells[i] = md(c)
			}
			fmt.Fprintf(bw, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, "| ratio | value | target | result | how |")
		fmt.Fprintln(bw, "|---|---:|---:|---|---|")
		for i := range r.Ratios {
			q := &r.Ratios[i]
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %s |\n",
				md(q.Name), num(q.Value), md(ratioTarget(q)), md(ratioVerdict(q)), md(q.Detail))
		}
	}
	return bw.Flush()
}

// processCells is a result's server cost as two Markdown cells, each
// process named: "nginx 0.05 · pictor 3.10" and "nginx 12.0 MB · pictor
// 150.3 MB".
func processCells(ps []Process) (cpu, rss string) {
	if len(ps) == 0 {
		return missing, missing
	}
	c := make([]string, len(ps))
	m := make([]string, len(ps))
	for i, p := range ps {
		c[i] = p.Name + " " + num(p.CPUPerRequest)
		m[i] = p.Name + " " + megabytes(p.PeakRSSBytes)
	}
	return strings.Join(c, " · "), strings.Join(m, " · ")
}

// mdEscaper keeps a cell's text from ending the cell (|), starting a new
// line, or being read as markup.
var mdEscaper = strings.NewReplacer(
	`|`, `\|`, "\n", " ", "\r", " ",
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `<`, `&lt;`,
)

// md escapes text for a Markdown table cell or paragraph.
func md(s string) string { return mdEscaper.Replace(s) }
