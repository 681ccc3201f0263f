package report

import (
	"bufio"
	"fmt"
	"strings"
	"text/tabwriter"
)

// The peer comparison table: per scenario, Pictor's row, the peer's row,
// and a row of Pictor ÷ peer, so that who is ahead on what reads at a
// glance.

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
		c := &cs[i]
		row(append([]string{c.Scenario, c.Pictor.Target}, sideCells(&c.Pictor)...)...)
		row(append([]string{"", c.Peer.Target}, sideCells(&c.Peer)...)...)
		row(append([]string{"", c.Pictor.Target + " ÷ " + c.Peer.Target}, ratioCells(c)...)...)
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
		line(append([]string{c.Scenario + ": " + c.Workload, c.Pictor.Target}, sideCells(&c.Pictor)...))
		line(append([]string{"", c.Peer.Target}, sideCells(&c.Peer)...))
		ratio := append([]string{"", c.Pictor.Target + " ÷ " + c.Peer.Target}, ratioCells(c)...)
		for j, cell := range ratio {
			if j > 0 && cell != "" {
				ratio[j] = "**" + md(cell) + "**"
			} else {
				ratio[j] = md(cell)
			}
		}
		fmt.Fprintf(bw, "| %s |\n", strings.Join(ratio, " | "))
	}
}
