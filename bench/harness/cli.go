package harness

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pictorhq/pictor/bench/report"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

const usage = `Load tests Pictor (through Nginx or direct) and peers with the same scenarios.

  go run ./bench [flags]        (or: pictor bench [flags])

Targets (repeatable; at least one):
  --target LABEL=URL         Pictor: http://host:port or unix:/path/to.sock
  --template LABEL=TEMPLATE  a peer, e.g. 'http://127.0.0.1:8082/resize/{w}/{file}'
                             placeholders: {w} {h} {file} {fmt} {q} {key}

Scenarios (repeatable; default: cold, srcset, hot, mixed, upload):
  --scenario KIND[:KEY=VALUE,...]
      KIND   cold | srcset | hot | mixed | upload
      KEYs   name=NAME  targets=LABEL+LABEL  formats=jpeg+png
             conns=N  rate=R  backlog=N  duration=D  max=N  warmup=D  timeout=D
             warm=on|off  min-rps=R  max-rss=GROUP:200MB
  e.g. --scenario 'cold:name=cold-jpeg,formats=jpeg,conns=4,max-rss=pictor:200MB'

Server cost (repeatable):
  --pid NAME=PID[,PID...]    a process group read from /proc every 250 ms;
                             descendants count too (give Nginx's master pid)
  --procs LABEL=NAME[,NAME]  the groups that are a target's cost (default: all)

`

// cli is one parsed command line.
type cli struct {
	cfg       Config // the defaults of every scenario
	targets   []*Target
	specs     []Spec
	groups    []ProcGroup
	procs     map[string][]string
	keys      string
	sigLength int
	token     string
	corpus    string
	files     []string
	seed      uint64
	command   string
	progress  bool

	baseline        bool
	baselineTime    time.Duration
	baselineWorkers int

	jsonPath, htmlPath, readmePath string
	notes                          []string
}

// Main runs the harness with command-line args: it uploads the corpus to
// every Pictor target, runs each scenario against each target it names,
// optionally the in-process baseline, and writes the table to stdout and
// the JSON, HTML and README outputs asked for. Progress and a line per
// result go to stderr. Cancelling ctx stops the run between requests.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	return c.run(ctx, stdout, stderr)
}

func splitLabel(flagName, v string) (string, string, error) {
	label, rest, ok := strings.Cut(v, "=")
	if !ok || label == "" || rest == "" || strings.ContainsAny(label, " \t+,") {
		return "", "", fmt.Errorf("%w: --%s %q: want LABEL=VALUE", ErrUsage, flagName, v)
	}
	return label, rest, nil
}

func parseArgs(args []string, stderr io.Writer) (*cli, error) {
	c := &cli{cfg: DefaultConfig(), procs: map[string][]string{}}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "Flags:")
		fs.PrintDefaults()
	}
	var scenarios []string
	labels := map[string]bool{}
	addTarget := func(name string, mk func(label, v string) (*Target, error)) func(string) error {
		return func(v string) error {
			label, rest, err := splitLabel(name, v)
			if err != nil {
				return err
			}
			if labels[label] {
				return fmt.Errorf("%w: target %q given twice", ErrUsage, label)
			}
			t, err := mk(label, rest)
			if err != nil {
				return err
			}
			labels[label] = true
			c.targets = append(c.targets, t)
			return nil
		}
	}
	fs.Func("target", "Pictor at `LABEL=URL` (http://host:port or unix:/path.sock); repeatable", addTarget("target", NewPictorTarget))
	fs.Func("template", "a peer at `LABEL=TEMPLATE`; repeatable", addTarget("template", NewPeerTarget))
	fs.Func("scenario", "`KIND[:KEY=VALUE,...]` to run; repeatable (see above)", func(v string) error {
		scenarios = append(scenarios, v)
		return nil
	})
	fs.Func("pid", "process group `NAME=PID[,PID...]`; repeatable", func(v string) error {
		name, rest, err := splitLabel("pid", v)
		if err != nil {
			return err
		}
		var pids []int
		for p := range strings.SplitSeq(rest, ",") {
			pid, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || pid <= 0 {
				return fmt.Errorf("%w: --pid %q: %q is not a pid", ErrUsage, v, p)
			}
			pids = append(pids, pid)
		}
		for i := range c.groups {
			if c.groups[i].Name == name {
				c.groups[i].PIDs = append(c.groups[i].PIDs, pids...)
				return nil
			}
		}
		c.groups = append(c.groups, ProcGroup{Name: name, PIDs: pids})
		return nil
	})
	fs.Func("procs", "the process groups `LABEL=NAME[,NAME]` whose cost is target LABEL's; repeatable", func(v string) error {
		label, rest, err := splitLabel("procs", v)
		if err != nil {
			return err
		}
		c.procs[label] = append(c.procs[label], strings.Split(rest, ",")...)
		return nil
	})
	// The secrets' defaults come from the environment after parsing, so
	// that -h never prints them.
	fs.StringVar(&c.keys, "key", "", "Pictor's signing keys, `kid:secret[,kid2:secret2]`, as in PICTOR_SIGNING_KEYS (default $PICTOR_SIGNING_KEYS); empty: the server has signing off")
	fs.IntVar(&c.sigLength, "signature-length", 0, "characters of s_ (default $PICTOR_SIGNATURE_LENGTH, else 16)")
	fs.StringVar(&c.token, "token", "", "Pictor's upload `token` (default the first of $PICTOR_UPLOAD_TOKENS)")
	fs.StringVar(&c.corpus, "corpus", "./data/bench-corpus", "directory of originals (scripts/fetch-corpus.sh fills it); a peer's {file} is a name in it")
	fs.Func("files", "use only these `NAMES` of the corpus, comma-separated", func(v string) error {
		c.files = append(c.files, strings.Split(v, ",")...)
		return nil
	})
	fs.IntVar(&c.cfg.Connections, "connections", c.cfg.Connections, "closed loop: connections; open loop: most requests in flight")
	fs.Float64Var(&c.cfg.Rate, "rate", 0, "open loop: requests per second, latency from each one's due time; 0: closed loop")
	fs.IntVar(&c.cfg.Backlog, "backlog", 0, "open loop: due requests that may wait for a connection before the next is an overrun (default: one second of -rate)")
	fs.DurationVar(&c.cfg.Duration, "duration", c.cfg.Duration, "measured time per scenario and target")
	fs.Int64Var(&c.cfg.MaxRequests, "max-requests", c.cfg.MaxRequests, "measured requests per scenario and target at most")
	fs.DurationVar(&c.cfg.Warmup, "warmup", c.cfg.Warmup, "unmeasured load before each measured part")
	fs.DurationVar(&c.cfg.Timeout, "timeout", c.cfg.Timeout, "per request")
	fs.BoolVar(&c.baseline, "baseline", false, "after the runs, make the cold runs' transforms again in this process and report cold CPU over pipeline CPU")
	fs.DurationVar(&c.baselineTime, "baseline-time", 30*time.Second, "about how long the baseline may take")
	fs.IntVar(&c.baselineWorkers, "baseline-workers", runtime.GOMAXPROCS(0), "baseline transforms at once (the sidecar's PICTOR_WORKERS)")
	fs.StringVar(&c.jsonPath, "json", "", "write the results to this JSON `file`")
	fs.StringVar(&c.htmlPath, "html", "", "write the HTML report with charts to this `file`")
	fs.StringVar(&c.readmePath, "readme", "", "rewrite the block between <!-- bench:begin --> and <!-- bench:end --> of this `file`")
	fs.Func("note", "a `sentence` for the README block, after the tables (how the servers were set up); repeatable", func(v string) error {
		c.notes = append(c.notes, v)
		return nil
	})
	fs.StringVar(&c.command, "command", "", "the command line to record in the results (default: this one)")
	fs.Uint64Var(&c.seed, "seed", 0, "seed of every random choice; 0: a random one, printed")
	terminal := false
	if f, ok := stderr.(*os.File); ok {
		terminal = IsTerminal(f)
	}
	fs.BoolVar(&c.progress, "progress", terminal, "draw a progress bar on stderr (default: when stderr is a terminal)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["key"] {
		c.keys = os.Getenv("PICTOR_SIGNING_KEYS")
	}
	if !set["token"] {
		c.token, _, _ = strings.Cut(os.Getenv("PICTOR_UPLOAD_TOKENS"), ",")
	}
	if !set["signature-length"] {
		c.sigLength = 16
		if v, err := strconv.Atoi(os.Getenv("PICTOR_SIGNATURE_LENGTH")); err == nil {
			c.sigLength = v
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	if len(c.targets) == 0 {
		return nil, fmt.Errorf("%w: no target: give --target or --template", ErrUsage)
	}
	if err := c.cfg.Validate(); err != nil {
		return nil, err
	}
	if c.baselineWorkers < 1 || c.baselineTime <= 0 {
		return nil, fmt.Errorf("%w: --baseline-workers and --baseline-time must be positive", ErrUsage)
	}
	if c.readmePath != "" {
		// Checked now rather than after minutes of measuring.
		raw, err := os.ReadFile(c.readmePath)
		if err != nil {
			return nil, err
		}
		if _, err := replaceBlock(raw, ""); err != nil {
			return nil, fmt.Errorf("%w in %s", err, c.readmePath)
		}
	}
	if c.seed == 0 {
		c.seed = rand.Uint64()
	}
	if c.command == "" {
		c.command = "go run ./bench " + shellJoin(args)
	}
	if len(scenarios) == 0 {
		scenarios = Kinds
	}
	for _, s := range scenarios {
		sp, err := ParseSpec(s, c.cfg)
		if err != nil {
			return nil, err
		}
		for _, l := range sp.Targets {
			if !labels[l] {
				return nil, fmt.Errorf("%w %q: no target %q", ErrScenario, s, l)
			}
		}
		c.specs = append(c.specs, sp)
	}
	names := map[string]bool{}
	for _, g := range c.groups {
		names[g.Name] = true
	}
	for label, ps := range c.procs {
		if !labels[label] {
			return nil, fmt.Errorf("%w: --procs %s: no such target", ErrUsage, label)
		}
		for _, p := range ps {
			if !names[p] {
				return nil, fmt.Errorf("%w: --procs %s: no --pid %s", ErrUsage, label, p)
			}
		}
	}
	for _, t := range c.targets {
		t.Procs = c.procs[t.Label]
	}
	return c, nil
}

// ParseSpec parses a --scenario value, KIND[:KEY=VALUE,...], on top of the
// load settings def.
func ParseSpec(s string, def Config) (Spec, error) {
	kind, rest, _ := strings.Cut(s, ":")
	sp := Spec{Kind: kind, Config: def, Warm: true}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %q: %s", ErrScenario, s, fmt.Sprintf(format, a...))
	}
	if !slices.Contains(Kinds, kind) {
		return sp, bad("kind %q: want one of %s", kind, strings.Join(Kinds, ", "))
	}
	for kv := range strings.SplitSeq(rest, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return sp, bad("%q: want KEY=VALUE", kv)
		}
		var err error
		switch k {
		case "name":
			sp.Name = v
		case "targets":
			sp.Targets = strings.Split(v, "+")
		case "formats":
			for n := range strings.SplitSeq(v, "+") {
				f, ok := format.Parse(n)
				if !ok {
					f, ok = format.FromExt(n)
				}
				if !ok {
					return sp, bad("format %q", n)
				}
				sp.Formats = append(sp.Formats, f)
			}
		case "conns", "connections":
			sp.Config.Connections, err = strconv.Atoi(v)
		case "rate":
			sp.Config.Rate, err = strconv.ParseFloat(v, 64)
		case "backlog":
			sp.Config.Backlog, err = strconv.Atoi(v)
		case "duration":
			sp.Config.Duration, err = time.ParseDuration(v)
		case "max", "max-requests":
			sp.Config.MaxRequests, err = strconv.ParseInt(v, 10, 64)
		case "warmup":
			sp.Config.Warmup, err = time.ParseDuration(v)
		case "timeout":
			sp.Config.Timeout, err = time.ParseDuration(v)
		case "warm":
			sp.Warm, err = parseOnOff(v)
		case "min-rps":
			sp.MinRPS, err = strconv.ParseFloat(v, 64)
		case "max-rss":
			proc, size, ok := strings.Cut(v, ":")
			if !ok || proc == "" {
				return sp, bad("max-rss=%s: want GROUP:SIZE, e.g. pictor:200MB", v)
			}
			sp.RSSProc = proc
			sp.MaxRSS, err = ParseSize(size)
		default:
			return sp, bad("unknown key %q", k)
		}
		if err != nil {
			return sp, bad("%s=%s: %v", k, v, err)
		}
	}
	if err := sp.Config.Validate(); err != nil {
		return sp, bad("%v", err)
	}
	return sp, nil
}

// parseOnOff reads on/off as well as what strconv.ParseBool reads.
func parseOnOff(v string) (bool, error) {
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return strconv.ParseBool(v)
}

// ParseSize reads "200MB" (decimal units: kB, MB, GB), "200MiB" (binary:
// KiB, MiB, GiB) or a plain number of bytes.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = num, u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%w: size %q", ErrUsage, s)
	}
	return int64(v * mult), nil
}

// shellJoin quotes args for a POSIX shell where they need it.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,+@%") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

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

func (c *cli) run(ctx context.Context, stdout, stderr io.Writer) error {
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
	if err := CheckPIDs(c.groups); err != nil {
		return err
	}
	var progress *Progress
	if c.progress {
		progress = NewProgress(stderr)
	}
	fmt.Fprintf(stderr, "bench: %d originals from %s, seed %d\n", len(files), c.corpus, c.seed)
	e := &env{pictor: pictor, space: newSpace(c.seed), seed: c.seed}
	e.upload.Store(rand.New(rand.NewPCG(c.seed, 1)).Uint64())
	for _, t := range c.targets {
		used := slices.ContainsFunc(c.specs, func(sp Spec) bool { return slices.Contains(c.targetsFor(sp), t) })
		if !t.IsPictor() || !used {
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
	var done []*measured
	for _, sp := range c.specs {
		sfiles := filterFormats(files, sp.Formats)
		if len(sfiles) == 0 {
			return fmt.Errorf("%w for scenario %s (formats %v)", ErrNoCorpus, sp.label(), sp.Formats)
		}
		ts := c.targetsFor(sp)
		if len(ts) == 0 {
			fmt.Fprintf(stderr, "bench: %s: no target it applies to; skipped\n", sp.label())
		}
		for _, t := range ts {
			m, err := c.runOne(ctx, e, sp, t, sfiles, progress)
			if err != nil {
				return err
			}
			done = append(done, m)
			r := m.res
			fmt.Fprintf(stderr, "bench: %s → %s: %d requests in %.1f s, %.1f req/s, p50 %.2f ms, p99 %.2f ms, errors %v, client %.3f ms-cpu/req\n",
				r.Scenario, r.Target, r.Requests, r.Seconds, r.Throughput, r.Latency.P50, r.Latency.P99, r.Errors, m.clientPerRequest())
		}
	}
	if n := e.space.Wrapped(); n > 0 {
		fmt.Fprintf(stderr, "bench: warning: %d originals ran out of fresh variants; later cold requests for them may have been cache hits\n", n)
	}

	var costs map[*File]Cost
	if c.baseline {
		var works []Work
		for _, m := range done {
			works = append(works, m.works...)
		}
		fmt.Fprintf(stderr, "bench: in-process baseline: up to %v over %d transforms, %d at a time\n", c.baselineTime, len(works), c.baselineWorkers)
		if costs, err = Baseline(ctx, works, c.baselineTime, c.baselineWorkers); err != nil {
			return err
		}
		for f, cost := range costs {
			fmt.Fprintf(stderr, "bench: baseline %s: %.2f ms-cpu per image over %d images\n", f.Name, ms(cost.PerImage()), cost.Images)
		}
	}
	for _, m := range done {
		run.Results = append(run.Results, *m.res)
	}
	run.Ratios = ratios(done, costs, c.baselineWorkers)

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
	if c.readmePath != "" {
		errs = append(errs, RewriteReadme(c.readmePath, run, c.notes))
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
