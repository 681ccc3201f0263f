package harness

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pictorhq/pictor/bench/report"
)

// Targets from issue 6, the figures the harness checks a run against.
const (
	// coldTarget: a cold transform through the server costs at most this
	// many times the in-process pipeline's CPU for the same image.
	coldTarget = 1.10
	// srcsetTarget: a variant made as part of a srcset (one decode for
	// five widths) costs at most this share of a cold variant's CPU.
	srcsetTarget = 0.4
)

// measured is one result with what the ratios need beside it.
type measured struct {
	spec   Spec
	target *Target
	res    *report.Result
	works  []Work
	client time.Duration // the load generator's own CPU
}

// clientPerRequest is the load generator's CPU per request, in
// milliseconds.
func (m *measured) clientPerRequest() float64 {
	if m.res.Requests == 0 {
		return 0
	}
	return ms(m.client) / float64(m.res.Requests)
}

// cpu is the result's server CPU in seconds, over every process group of
// its target.
func (m *measured) cpu() float64 {
	var s float64
	for _, p := range m.res.Processes {
		s += p.CPUSeconds
	}
	return s
}

func (m *measured) procNames() string {
	var ns []string
	for _, p := range m.res.Processes {
		ns = append(ns, p.Name)
	}
	return strings.Join(ns, "+")
}

// cpuPerVariant is server CPU per variant made, in milliseconds.
func (m *measured) cpuPerVariant() float64 {
	n := m.res.Requests * int64(m.spec.variantsPerRequest(m.target))
	if n == 0 {
		return 0
	}
	return m.cpu() * 1e3 / float64(n)
}

// successes is the result's requests that did not fail.
func successes(r *report.Result) int64 {
	n := r.Requests
	for k, e := range r.Errors {
		if k != errOverrun {
			n -= e
		}
	}
	return n
}

func sameFormats(a, b Spec) bool {
	x, y := slices.Clone(a.Formats), slices.Clone(b.Formats)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func check(name string, value, target float64, better, detail string) report.Ratio {
	met := value <= target
	if better == "higher" {
		met = value >= target
	}
	return report.Ratio{Name: name, Value: value, Target: target, Better: better, Met: met, Detail: detail}
}

// ratios derives the run's figures across results: cold CPU over the
// in-process pipeline (when costs, the baseline, is given), srcset over
// cold, peers over Pictor, and the checks the specs ask for.
func ratios(results []*measured, costs map[*File]Cost, baselineWorkers int) []report.Ratio {
	var out []report.Ratio
	for _, m := range results {
		if costs == nil || !m.spec.keepWork(m.target) || m.res.Requests == 0 || len(m.res.Processes) == 0 {
			continue
		}
		base, images, ok := weighted(m.works, costs)
		if !ok || base <= 0 {
			continue
		}
		server := m.cpu() * 1e3 / float64(m.res.Requests)
		out = append(out, check(
			fmt.Sprintf("cold CPU per request ÷ in-process pipeline CPU per image (%s, %s)", m.spec.label(), m.target.Label),
			server/ms(base), coldTarget, "lower",
			fmt.Sprintf("server %.2f ms-cpu per request (%s, %d requests) ÷ pipeline %.2f ms-cpu per image (the same transforms, %d replayed in this process, %d at a time, weighted by original as the run asked for them)",
				server, m.procNames(), m.res.Requests, ms(base), images, baselineWorkers)))
	}
	for _, s := range results {
		if s.spec.Kind != Srcset || !s.target.IsPictor() || s.cpuPerVariant() == 0 {
			continue
		}
		for _, c := range results {
			if c.spec.Kind != Cold || c.target != s.target || !sameFormats(c.spec, s.spec) || c.cpuPerVariant() == 0 {
				continue
			}
			out = append(out, check(
				fmt.Sprintf("srcset variant CPU ÷ cold variant CPU (%s)", s.target.Label),
				s.cpuPerVariant()/c.cpuPerVariant(), srcsetTarget, "lower",
				fmt.Sprintf("%s: %.2f ms-cpu per variant (%d requests of %d widths from one decode) ÷ %s: %.2f ms-cpu per variant (%d cold requests), server CPU of %s",
					s.spec.label(), s.cpuPerVariant(), s.res.Requests, srcsetVariants, c.spec.label(), c.cpuPerVariant(), c.res.Requests, s.procNames())))
			break
		}
	}
	for _, peer := range results {
		if peer.target.IsPictor() || peer.spec.Kind != Cold || peer.cpuPerVariant() == 0 {
			continue
		}
		for _, p := range results {
			if p.spec.Kind != Cold || !p.target.IsPictor() || p.spec.label() != peer.spec.label() || p.cpuPerVariant() == 0 {
				continue
			}
			out = append(out, report.Ratio{
				Name:  fmt.Sprintf("cold CPU per variant, %s ÷ %s (%s)", peer.target.Label, p.target.Label, p.spec.label()),
				Value: peer.cpuPerVariant() / p.cpuPerVariant(),
				Met:   true,
				Detail: fmt.Sprintf("%s: %.2f ms-cpu (%s) ÷ %s: %.2f ms-cpu (%s), same originals and widths",
					peer.target.Label, peer.cpuPerVariant(), peer.procNames(), p.target.Label, p.cpuPerVariant(), p.procNames()),
			})
		}
	}
	for _, m := range results {
		if m.spec.MinRPS > 0 && m.res.Seconds > 0 {
			rps := float64(successes(m.res)) / m.res.Seconds
			out = append(out, check(
				fmt.Sprintf("%s req/s (%s)", m.spec.label(), m.target.Label), rps, m.spec.MinRPS, "higher",
				fmt.Sprintf("successful requests per second, %s loop, %d connections, %.1f s", m.res.Mode, m.res.Connections, m.res.Seconds)))
		}
		if m.spec.MaxRSS > 0 {
			for _, p := range m.res.Processes {
				if p.Name == m.spec.RSSProc {
					out = append(out, check(
						fmt.Sprintf("peak RSS of %s, MB (%s, %s)", p.Name, m.spec.label(), m.target.Label),
						float64(p.PeakRSSBytes)/1e6, float64(m.spec.MaxRSS)/1e6, "lower",
						fmt.Sprintf("largest sum of VmRSS over %v, read every %v, %d connections", p.PIDs, m.spec.Config.SampleEvery, m.res.Connections)))
				}
			}
		}
	}
	return out
}
