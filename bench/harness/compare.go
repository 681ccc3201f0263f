package harness

import (
	"fmt"
	"slices"

	"github.com/pictorhq/pictor/bench/report"
	"github.com/pictorhq/pictor/transform/options"
)

// side is one result's figures for a comparison.
func side(m *measured) report.Side {
	r := m.res
	s := report.Side{
		Target: r.Target, Requests: r.Requests, Errors: r.Requests - successes(r),
		P50: r.Latency.P50, P99: r.Latency.P99,
	}
	if r.Seconds > 0 {
		s.Throughput = float64(successes(r)) / r.Seconds
	}
	if r.Requests > 0 {
		s.BytesPerRequest = float64(r.Bytes) / float64(r.Requests)
		if len(r.Processes) > 0 {
			s.CPUPerRequest = m.cpu() * 1e3 / float64(r.Requests)
		}
	}
	for _, p := range r.Processes {
		s.PeakRSSBytes += p.PeakRSSBytes
	}
	return s
}

// workload says in words what each request of a peer scenario asked for.
func workload(sp Spec) string {
	o := options.Options{Width: sp.Width, Quality: sp.Quality, Format: sp.Out}
	out := "the original's format"
	if sp.Out != 0 {
		out = sp.Out.Ext()
	}
	switch sp.Kind {
	case Distinct:
		return fmt.Sprintf("%d distinct originals (copies of %s, different bytes, same pixels) → %s (%s); %d connections",
			sp.Copies, sp.File, o.String(), out, sp.Config.Connections)
	case Widths:
		o.Width = 0
		return fmt.Sprintf("one original (%s) at %d distinct widths %d…%d → w_N,%s (%s); %d connections",
			sp.File, sp.WidthHi-sp.WidthLo+1, sp.WidthLo, sp.WidthHi, o.String(), out, sp.Config.Connections)
	}
	return sp.label()
}

// comparisons sets each Pictor result of a peer scenario beside each peer
// result of the same scenario, with the scenario's libvips floor where
// floors has one.
func comparisons(results []*measured, floors map[string]*report.Floor) []report.Comparison {
	var out []report.Comparison
	for _, p := range results {
		if !p.target.IsPictor() || !slices.Contains(PeerKinds, p.spec.Kind) {
			continue
		}
		for _, q := range results {
			if q.target.IsPictor() || q.spec.label() != p.spec.label() {
				continue
			}
			out = append(out, report.Comparison{
				Scenario: p.spec.label(), Workload: workload(p.spec),
				Pictor: side(p), Peer: side(q), Floor: floors[p.spec.label()],
			})
		}
	}
	return out
}

// comparisonChecks are the checks the peer scenarios ask for (min-ratio,
// max-rss-ratio, max-floor-ratio) on their comparisons, and Pictor's CPU
// over the libvips floor wherever it was measured, checked or not.
func comparisonChecks(results []*measured, cs []report.Comparison) []report.Ratio {
	specs := map[string]Spec{}
	for _, m := range results {
		specs[m.spec.label()] = m.spec
	}
	var out []report.Ratio
	for i := range cs {
		c := &cs[i]
		sp := specs[c.Scenario]
		q := c.Ratio()
		if sp.MinRatio > 0 {
			out = append(out, check(
				fmt.Sprintf("req/s, %s ÷ %s (%s)", c.Pictor.Target, c.Peer.Target, c.Scenario),
				q.Throughput, sp.MinRatio, "higher",
				fmt.Sprintf("successful requests per second, %.1f ÷ %.1f, the same requests in the same order", c.Pictor.Throughput, c.Peer.Throughput)))
		}
		if sp.MaxRSSRatio > 0 && q.PeakRSS > 0 {
			out = append(out, check(
				fmt.Sprintf("peak RSS, %s ÷ %s (%s)", c.Pictor.Target, c.Peer.Target, c.Scenario),
				q.PeakRSS, sp.MaxRSSRatio, "lower",
				fmt.Sprintf("%.1f MB ÷ %.1f MB, each server's process group read every %v", float64(c.Pictor.PeakRSSBytes)/1e6, float64(c.Peer.PeakRSSBytes)/1e6, sp.Config.SampleEvery)))
		}
		if r, ok := floorCheck(c, sp.MaxFloorRatio); ok {
			out = append(out, r)
		}
	}
	return out
}

// floorCheck is Pictor's CPU per request over c's libvips floor, checked
// against target when it is above 0; ok is false when either figure is
// unknown.
func floorCheck(c *report.Comparison, target float64) (report.Ratio, bool) {
	value, _ := c.FloorRatio()
	if value == 0 {
		return report.Ratio{}, false
	}
	f := c.Floor
	name := fmt.Sprintf("CPU ms/req, %s ÷ %s (%s)", c.Pictor.Target, f.Label, c.Scenario)
	detail := fmt.Sprintf("server %.2f ms-cpu per request (%d requests) ÷ %s %.2f ms-cpu per request: %s",
		c.Pictor.CPUPerRequest, c.Pictor.Requests, f.Label, f.CPUPerRequest, f.Detail)
	if target <= 0 {
		return report.Ratio{Name: name, Value: value, Met: true, Detail: detail}, true
	}
	return check(name, value, target, "lower", detail), true
}
