package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The cell formats shared by the terminal table, the Markdown table and the
// HTML summary, so that the three always agree on a figure.

// missing is what a cell shows for a value that was not measured (NaN,
// ±Inf, or no data at all).
const missing = "-"

// num formats v with three significant digits, and without a fraction from
// 100 up: 0.0412, 3.14, 27.5, 15234. Three digits are as many as one run on
// a shared machine can defend.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return missing
	}
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	// Decimals for three significant digits: 27.5 has one, 3.14 two, 0.0412 four.
	decimals := 2 - int(math.Floor(math.Log10(a)))
	// Rounding can carry into a fourth digit (9.996 → 10.00); drop one.
	scale := math.Pow(10, float64(decimals))
	if math.Round(a*scale)/scale >= 1000/scale {
		decimals--
		if decimals == 0 {
			return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
		}
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// siBytes formats a byte count in decimal units (kB = 1000 B), as network
// rates are usually given: "812 B", "45.3 kB", "12.1 MB", "1.25 GB".
func siBytes(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return missing
	}
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for math.Abs(v) >= 999.5 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + " B"
	}
	return num(v) + " " + units[i]
}

// megabytes formats a resident set in MB (10⁶ bytes) with one decimal, so
// that the RSS of every process reads in the same unit and compares by eye
// against a target such as 200 MB.
func megabytes(b int64) string {
	if b <= 0 {
		return missing
	}
	return strconv.FormatFloat(float64(b)/1e6, 'f', 1, 64) + " MB"
}

// gibibytes formats a machine's memory as the kernel counts it (GiB).
func gibibytes(b int64) string {
	if b <= 0 {
		return missing
	}
	return strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64) + " GiB"
}

// load describes how a result's requests were offered: "closed, 64 conns"
// or "open, 500/s, 64 conns".
func load(r *Result) string {
	conns := fmt.Sprintf("%d conns", r.Connections)
	if r.Connections == 1 {
		conns = "1 conn"
	}
	switch {
	case r.Mode == "open" || r.Rate > 0:
		mode := r.Mode
		if mode == "" {
			mode = "open"
		}
		return fmt.Sprintf("%s, %s/s, %s", mode, num(r.Rate), conns)
	case r.Mode == "":
		return conns
	default:
		return r.Mode + ", " + conns
	}
}

// errorsText lists failures by kind, HTTP statuses first in numeric order,
// then transport failures by name: "429:12 503:2 timeout:1". Kinds with a
// zero count are left out; no failures at all is "-".
func errorsText(errs map[string]int64) string {
	kinds := make([]string, 0, len(errs))
	for k, n := range errs {
		if n != 0 {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return missing
	}
	slices.SortFunc(kinds, func(a, b string) int {
		na, errA := strconv.Atoi(a)
		nb, errB := strconv.Atoi(b)
		switch {
		case errA == nil && errB == nil:
			return na - nb
		case errA == nil:
			return -1
		case errB == nil:
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = k + ":" + strconv.FormatInt(errs[k], 10)
	}
	return strings.Join(parts, " ")
}

// ratioTarget shows the side of the target that meets it: "≤ 1.1",
// "≥ 15000", or the bare target when the side is not given. A target is
// written as given, without padding to three digits: it is a round number
// someone chose, not a measurement.
func ratioTarget(q *Ratio) string {
	if q.Target == 0 {
		return missing
	}
	t := strconv.FormatFloat(q.Target, 'f', -1, 64)
	switch q.Better {
	case "lower":
		return "≤ " + t
	case "higher":
		return "≥ " + t
	}
	return t
}

// ratioVerdict says whether a ratio met its target and, when it did not and
// the side is known, by how much it fell short: "missed by 12.5%".
func ratioVerdict(q *Ratio) string {
	if q.Target == 0 {
		return missing
	}
	if q.Met {
		return "met"
	}
	var short float64
	switch q.Better {
	case "lower":
		short = q.Value/q.Target - 1
	case "higher":
		short = 1 - q.Value/q.Target
	default:
		return "missed"
	}
	if math.IsNaN(short) || math.IsInf(short, 0) {
		return "missed"
	}
	return "missed by " + num(100*short) + "%"
}

// machineText is the machine facts in one sentence.
func machineText(m *Machine) string {
	var parts []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	add(m.CPU)
	if m.Cores > 0 {
		add(fmt.Sprintf("%d cores", m.Cores))
	}
	if m.MemBytes > 0 {
		add(gibibytes(m.MemBytes) + " memory")
	}
	if m.Kernel != "" {
		add("kernel " + m.Kernel)
	}
	add(m.OS)
	add(m.GoVersion)
	if len(parts) == 0 {
		return "unknown machine"
	}
	return strings.Join(parts, ", ")
}

// startedText is when the run started, in UTC to the minute, or "unknown
// time" for a run without a start.
func startedText(r *Run) string {
	if r.Started.IsZero() {
		return "unknown time"
	}
	return r.Started.UTC().Format("2006-01-02 15:04 UTC")
}

// ordered returns the results grouped by scenario, scenarios in the order
// they first appear and results within one scenario in their own order, so
// that the servers measured by one scenario sit next to each other.
func ordered(results []Result) []*Result {
	var scenarios []string
	by := map[string][]*Result{}
	for i := range results {
		r := &results[i]
		if _, ok := by[r.Scenario]; !ok {
			scenarios = append(scenarios, r.Scenario)
		}
		by[r.Scenario] = append(by[r.Scenario], r)
	}
	out := make([]*Result, 0, len(results))
	for _, s := range scenarios {
		out = append(out, by[s]...)
	}
	return out
}
