package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/pictorhq/pictor/bench/report"
	"github.com/pictorhq/pictor/transform/vips"
)

// targetsFor is the targets spec runs against, in command-line order.
func (c *cli) targetsFor(sp Spec) []*Target {
	var ts []*Target
	for _, t := range c.targets {
		if (len(sp.Targets) == 0 || slices.Contains(sp.Targets, t.Label)) && sp.fits(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// groupsFor is the process groups that are t's cost.
func (c *cli) groupsFor(t *Target) []ProcGroup {
	if len(t.Procs) == 0 {
		return c.groups
	}
	var gs []ProcGroup
	for _, g := range c.groups {
		if slices.Contains(t.Procs, g.Name) {
			gs = append(gs, g)
		}
	}
	return gs
}

// used reports whether any scenario runs against t.
func (c *cli) used(t *Target) bool {
	return slices.ContainsFunc(c.specs, func(sp Spec) bool { return slices.Contains(c.targetsFor(sp), t) })
}

func (c *cli) run(ctx context.Context, stdout, stderr io.Writer) (err error) {
	if err := vips.Startup(vips.DefaultConfig()); err != nil {
		return err
	}
	files, err := LoadCorpus(c.corpus, c.files)
	if err != nil {
		return err
	}
	pictor, err := NewPictor(c.keys, c.sigLength, c.token)
	if err != nil {
		return err
	}
	if err := c.startImgproxy(ctx, stderr); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.stopImgproxy()) }()
	if err := CheckPIDs(c.groups); err != nil {
		return err
	}
	var progress *Progress
	if c.progress {
		progress = NewProgress(stderr)
	}
	fmt.Fprintf(stderr, "bench: %d originals from %s, seed %d\n", len(files), c.corpus, c.seed)
	e := &env{pictor: pictor, space: newSpace(c.seed), seed: c.seed, corpus: c.corpus, all: files, stderr: stderr}
	e.upload.Store(rand.New(rand.NewPCG(c.seed, 1)).Uint64())
	defer func() { err = errors.Join(err, e.cleanup()) }()
	for _, t := range c.targets {
		if !t.IsPictor() || !c.used(t) {
			continue
		}
		client := t.Client(c.cfg)
		err := t.Upload(ctx, client, pictor, files)
		client.CloseIdleConnections()
		if err != nil {
			return err
		}
	}

	run := &report.Run{Started: time.Now(), Command: c.command, Machine: Machine()}
	done, err := c.runSpecs(ctx, e, files, progress, stderr)
	if err != nil {
		return err
	}
	if n := e.space.Wrapped(); n > 0 {
		fmt.Fprintf(stderr, "bench: warning: %d originals ran out of fresh variants; later cold requests for them may have been cache hits\n", n)
	}

	var costs map[*File]Cost
	if c.baseline {
		if costs, err = c.runBaseline(ctx, done, stderr); err != nil {
			return err
		}
	}
	var floors map[string]*report.Floor
	if c.floor {
		if floors, err = c.runFloors(ctx, e, done); err != nil {
			return err
		}
	}
	for _, m := range done {
		run.Results = append(run.Results, *m.res)
	}
	run.Ratios = ratios(done, costs, c.baselineWorkers)
	run.Comparisons = comparisons(done, floors)
	run.Ratios = append(run.Ratios, comparisonChecks(done, run.Comparisons)...)
	return c.write(stdout, run)
}

// runSpecs runs every scenario against each of its targets, in order.
func (c *cli) runSpecs(ctx context.Context, e *env, files []*File, progress *Progress, stderr io.Writer) ([]*measured, error) {
	var done []*measured
	for _, sp := range c.specs {
		sfiles := filterFormats(files, sp.Formats)
		if len(sfiles) == 0 {
			return nil, fmt.Errorf("%w for scenario %s (formats %v)", ErrNoCorpus, sp.label(), sp.Formats)
		}
		ts := c.targetsFor(sp)
		if len(ts) == 0 {
			fmt.Fprintf(stderr, "bench: %s: no target it applies to; skipped\n", sp.label())
		}
		for _, t := range ts {
			m, err := c.runOne(ctx, e, sp, t, sfiles, progress)
			if err != nil {
				return nil, err
			}
			done = append(done, m)
			r := m.res
			fmt.Fprintf(stderr, "bench: %s → %s: %d requests in %.1f s, %.1f req/s, p50 %.2f ms, p99 %.2f ms, errors %v, client %.3f ms-cpu/req\n",
				r.Scenario, r.Target, r.Requests, r.Seconds, r.Throughput, r.Latency.P50, r.Latency.P99, r.Errors, m.clientPerRequest())
		}
	}
	return done, nil
}

// runBaseline makes the cold runs' transforms again in this process.
func (c *cli) runBaseline(ctx context.Context, done []*measured, stderr io.Writer) (map[*File]Cost, error) {
	var works []Work
	for _, m := range done {
		works = append(works, m.works...)
	}
	fmt.Fprintf(stderr, "bench: in-process baseline: up to %v over %d transforms, %d at a time\n", c.baselineTime, len(works), c.baselineWorkers)
	costs, err := Baseline(ctx, works, c.baselineTime, c.baselineWorkers)
	if err != nil {
		return nil, err
	}
	for f, cost := range costs {
		fmt.Fprintf(stderr, "bench: baseline %s: %.2f ms-cpu per image over %d images\n", f.Name, ms(cost.PerImage()), cost.Images)
	}
	return costs, nil
}

// write prints the table and writes the files asked for.
func (c *cli) write(stdout io.Writer, run *report.Run) error {
	if err := report.WriteTable(stdout, run); err != nil {
		return err
	}
	var errs []error
	if c.jsonPath != "" {
		errs = append(errs, report.WriteJSON(c.jsonPath, run))
	}
	if c.htmlPath != "" {
		errs = append(errs, report.WriteHTML(c.htmlPath, run))
	}
	if c.docPath != "" {
		errs = append(errs, RewriteDoc(c.docPath, run, c.notes))
	}
	return errors.Join(errs...)
}

// runOne runs sp against t and returns its result.
func (c *cli) runOne(ctx context.Context, e *env, sp Spec, t *Target, files []*File, progress *Progress) (*measured, error) {
	progress.Label(sp.label() + " → " + t.Label)
	gen, err := e.generator(ctx, sp, t, files)
	if err != nil {
		return nil, err
	}
	client := t.Client(sp.Config)
	defer client.CloseIdleConnections()
	m, err := Run(ctx, sp.Config, client, gen, RunOptions{
		Groups:   c.groupsFor(t),
		KeepWork: c.baseline && sp.keepWork(t),
		Progress: progress,
		Seed:     c.seed,
	})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err // a run cut short measures nothing worth keeping
	}
	if p, ok := gen.(*poolGen); ok && p.reused() > 0 {
		fmt.Fprintf(e.stderr, "bench: warning: %s → %s: %d requests repeated an earlier one (the pool has %d); a cache may have answered them\n",
			sp.label(), t.Label, p.reused(), len(p.urls))
	}
	return &measured{spec: sp, target: t, res: result(sp, t, m), works: m.Works, client: m.ClientCPU}, nil
}

// result is a Measurement as the results file has it.
func result(sp Spec, t *Target, m *Measurement) *report.Result {
	r := &report.Result{
		Scenario:    sp.label(),
		Target:      t.Label,
		URL:         t.URL,
		Mode:        sp.Config.Mode(),
		Connections: sp.Config.Connections,
		Rate:        sp.Config.Rate,
		Seconds:     m.Seconds,
		Requests:    m.Requests,
		Bytes:       m.Bytes,
		Latency:     m.Latency.Percentiles(),
		CDF:         m.Latency.CDF(),
		Timeline:    m.Timeline,
		Processes:   m.Processes,
	}
	if len(m.Errors) > 0 {
		r.Errors = m.Errors
	}
	if m.Seconds > 0 {
		r.Throughput = float64(m.Requests) / m.Seconds
		r.BytesPerSec = float64(m.Bytes) / m.Seconds
	}
	return r
}
