package report

import (
	"bufio"
	"fmt"
	"strings"
	"text/tabwriter"
)

// The peer comparison table: per scenario, Pictor's row, the peer's row,
// and a row of Pictor ÷ peer, so that who is ahead on what reads at a
// glance; where the libvips floor was measured, its row and each server's
// CPU over it follow.

// compareHeader names the comparison table's columns.
var compareHeader = []string{"req/s", "CPU ms/req", "p50 ms", "p99 ms", "bytes/req", "peak RSS", "errors"}

// sideCells is one server's row.
func sideCells(s *Side) []string {
	cpu, rss := missing, missing
	if s.CPUPerRequest > 0 {
		cpu = num(s.CPUPerRequest)
	}
	if s.PeakRSSBytes > 0 {
		rss = megabytes(s.PeakRSSBytes)
	}
	return []string{num(s.Throughput), cpu, num(s.P50), num(s.P99), siBytes(s.BytesPerRequest), rss, fmt.Sprint(s.Errors)}
}

// times is a ratio cell: "0.85×", or missing.
func times(v float64) string {
	if v == 0 {
		return missing
	}
	return num(v) + "×"
}

// ratioCells is the Pictor ÷ peer row.
func ratioCells(c *Comparison) []string {
	q := c.Ratio()
	return []string{times(q.Throughput), times(q.CPUPerRequest), times(q.P50), times(q.P99), times(q.BytesPerRequest), times(q.PeakRSS), ""}
}

// compareRow is one row of a comparison in every writer: the server (or
// the ratio) it is about, its cells under compareHeader, and whether it is
// a ratio row (bold in Markdown and HTML).
type compareRow struct {
	Server string
	Cells  []string
	Ratio  bool
}

// compareRows is c's rows: Pictor, the peer, Pictor ÷ peer, then, with a
// floor, the floor (CPU only: its other figures are no server's) and each
// server's CPU over it.
func compareRows(c *Comparison) []compareRow {
	rows := []compareRow{
		{Server: c.Pictor.Target, Cells: sideCells(&c.Pictor)},
		{Server: c.Peer.Target, Cells: sideCells(&c.Peer)},
		{Server: c.Pictor.Target + " ÷ " + c.Peer.Target, Cells: ratioCells(c), Ratio: true},
	}
	if f := c.Floor; f != nil {
		cpu := missing
		if f.CPUPerRequest > 0 {
			cpu = num(f.CPUPerRequest)
		}
		p, q := c.FloorRatio()
		// The CPU column alone; rest fills the others, as compareHeader
		// orders them.
		only := func(cpu, rest string) []string { return []string{rest, cpu, rest, rest, rest, rest, ""} }
		rows = append(rows,
			compareRow{Server: f.Label, Cells: only(cpu, missing)},
			compareRow{Server: c.Pictor.Target + " ÷ " + f.Label, Cells: only(times(p), ""), Ratio: true},
			compareRow{Server: c.Peer.Target + " ÷ " + f.Label, Cells: only(times(q), ""), Ratio: true},
		)
	}
	return rows
}

// writeComparisonTable writes the comparisons as aligned text.
func writeComparisonTable(bw *bufio.Writer, cs []Comparison) error {
	if len(cs) == 0 {
		return nil
	}
	fmt.Fprintln(bw)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	head := append([]string{"PEER SCENARIO", "SERVER"}, compareHeader...)
	for i := range head {
		head[i] = strings.ToUpper(head[i])
	}
	row(head...)
	for i := range cs {
		for j, r := range compareRows(&cs[i]) {
			first := ""
			if j == 0 {
				first = cs[i].Scenario
			}
			row(append([]string{first, r.Server}, r.Cells...)...)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i := range cs {
		fmt.Fprintf(bw, "  %s: %s\n", cs[i].Scenario, cs[i].Workload)
	}
	return nil
}

// writeComparisonMarkdown writes the comparisons as a Markdown table, the
// ratio rows in bold.
func writeComparisonMarkdown(bw *bufio.Writer, cs []Comparison) {
	fmt.Fprintf(bw, "| scenario | server | %s |\n", strings.Join(compareHeader, " | "))
	fmt.Fprintln(bw, "|---|---|---:|---:|---:|---:|---:|---:|---:|")
	line := func(cells []string) {
		for i, c := range cells {
			cells[i] = md(c)
		}
		fmt.Fprintf(bw, "| %s |\n", strings.Join(cells, " | "))
	}
	for i := range cs {
		c := &cs[i]
		for j, r := range compareRows(c) {
			first := ""
			if j == 0 {
				first = c.Scenario + ": " + c.Workload
			}
			cells := append([]string{first, r.Server}, r.Cells...)
			if !r.Ratio {
				line(cells)
				continue
			}
			for k, cell := range cells {
				if k > 0 && cell != "" {
					cells[k] = "**" + md(cell) + "**"
				} else {
					cells[k] = md(cell)
				}
			}
			fmt.Fprintf(bw, "| %s |\n", strings.Join(cells, " | "))
		}
	}
}
