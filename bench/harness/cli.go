package harness

import (
	"context"
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
)

const usage = `Load tests Pictor (through Nginx or direct) and peers with the same scenarios.

  pictor-bench [flags]          (go run ./cmd/pictor-bench [flags])

Targets (repeatable; at least one):
  --target LABEL=URL         Pictor: http://host:port or unix:/path/to.sock
  --template LABEL=TEMPLATE  a peer, e.g. 'http://127.0.0.1:8082/resize/{w}/{file}'
                             placeholders: {w} {h} {file} {fmt} {q} {key}
  --imgproxy PATH            start this imgproxy binary as the peer "imgproxy"
                             (default $IMGPROXY_BIN); without it, scenarios that
                             name imgproxy are skipped, saying how to build it

Scenarios (repeatable; default: cold, srcset, hot, mixed, upload):
  --scenario KIND[:KEY=VALUE,...]
      KIND   cold | srcset | hot | mixed | upload | distinct | widths
      KEYs   name=NAME  targets=LABEL+LABEL  formats=jpeg+png
             conns=N  rate=R  backlog=N  duration=D  max=N  warmup=D  timeout=D
             warm=on|off  min-rps=R  max-rss=GROUP:200MB
      distinct and widths (Pictor beside a peer on the same requests):
             file=NAME  quality=Q (80)  out=FORMAT
             distinct: width=W (400)  copies=N (max)
             widths:   widths=LO-HI (300-899)
             min-ratio=R  max-rss-ratio=R   checks of Pictor ÷ peer
             max-floor-ratio=R  check of Pictor's CPU ÷ the libvips floor's
                               (--floor)
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

	// imgproxyBin is the imgproxy binary to start as the peer
	// ImgproxyLabel; "" when none was given.
	imgproxyBin string
	imgproxy    *imgproxyPeer // once started

	baseline        bool
	baselineTime    time.Duration
	baselineWorkers int

	// floor asks for the libvips floor of each peer scenario (floor.go),
	// within floorTime each.
	floor     bool
	floorTime time.Duration

	jsonPath, htmlPath, docPath string
	notes                       []string
}

// Main runs the harness with command-line args: it uploads the corpus to
// every Pictor target, runs each scenario against each target it names,
// optionally the in-process baseline, and writes the table to stdout and
// the JSON, HTML and performance-document outputs asked for. Progress and
// a line per result go to stderr. Cancelling ctx stops the run between
// requests.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	if len(c.specs) == 0 {
		fmt.Fprintln(stderr, "bench: no scenario left to run")
		return nil
	}
	return c.run(ctx, stdout, stderr)
}

// flagged is what the flags collect beside the cli's own fields.
type flagged struct {
	scenarios []string
	labels    map[string]bool // target labels given
}

// parseArgs turns args into a cli: the flags, then defaults from the
// environment, then checks of the whole, then the scenarios and which
// process groups are whose cost.
func parseArgs(args []string, stderr io.Writer) (*cli, error) {
	c := &cli{cfg: DefaultConfig(), procs: map[string][]string{}}
	fl := &flagged{labels: map[string]bool{}}
	fs := c.flagSet(fl, stderr)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.fromEnvironment(set)
	if c.seed == 0 {
		c.seed = rand.Uint64()
	}
	if err := c.addImgproxy(fl); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.command == "" {
		c.command = "pictor-bench " + shellJoin(args)
	}
	if err := c.buildSpecs(fl, stderr); err != nil {
		return nil, err
	}
	if err := c.bindProcs(fl.labels); err != nil {
		return nil, err
	}
	return c, nil
}

func splitLabel(flagName, v string) (string, string, error) {
	label, rest, ok := strings.Cut(v, "=")
	if !ok || label == "" || rest == "" || strings.ContainsAny(label, " \t+,") {
		return "", "", fmt.Errorf("%w: --%s %q: want LABEL=VALUE", ErrUsage, flagName, v)
	}
	return label, rest, nil
}

// flagSet declares every flag, writing into c and fl.
func (c *cli) flagSet(fl *flagged, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("pictor-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "Flags:")
		fs.PrintDefaults()
	}
	fs.Func("target", "Pictor at `LABEL=URL` (http://host:port or unix:/path.sock); repeatable", c.targetFlag(fl, "target", NewPictorTarget))
	fs.Func("template", "a peer at `LABEL=TEMPLATE`; repeatable", c.targetFlag(fl, "template", NewPeerTarget))
	fs.StringVar(&c.imgproxyBin, "imgproxy", "", "start this imgproxy `binary` as the peer \"imgproxy\" (default $IMGPROXY_BIN)")
	fs.Func("scenario", "`KIND[:KEY=VALUE,...]` to run; repeatable (see above)", func(v string) error {
		fl.scenarios = append(fl.scenarios, v)
		return nil
	})
	fs.Func("pid", "process group `NAME=PID[,PID...]`; repeatable", c.pidFlag)
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
	fs.IntVar(&c.baselineWorkers, "baseline-workers", runtime.GOMAXPROCS(0), "baseline and floor transforms at once (the sidecar's PICTOR_WORKERS)")
	fs.BoolVar(&c.floor, "floor", false, "after the runs, make each distinct and widths scenario's requests again in this process with plain libvips calls and report Pictor's CPU over that floor")
	fs.DurationVar(&c.floorTime, "floor-time", 8*time.Second, "about how long the floor of each scenario may take")
	fs.StringVar(&c.jsonPath, "json", "", "write the results to this JSON `file`")
	fs.StringVar(&c.htmlPath, "html", "", "write the HTML report with charts to this `file`")
	fs.StringVar(&c.docPath, "doc", "", "rewrite the block between <!-- bench:begin --> and <!-- bench:end --> of this Markdown `file` (make bench: "+DefaultDoc+")")
	fs.Func("note", "a `sentence` for the document's block, after the tables (how the servers were set up); repeatable", func(v string) error {
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
	return fs
}

// targetFlag is a --target or --template flag: it makes a target with mk
// and refuses a label given twice.
func (c *cli) targetFlag(fl *flagged, name string, mk func(label, v string) (*Target, error)) func(string) error {
	return func(v string) error {
		label, rest, err := splitLabel(name, v)
		if err != nil {
			return err
		}
		if fl.labels[label] {
			return fmt.Errorf("%w: target %q given twice", ErrUsage, label)
		}
		t, err := mk(label, rest)
		if err != nil {
			return err
		}
		fl.labels[label] = true
		c.targets = append(c.targets, t)
		return nil
	}
}

// pidFlag adds a --pid group, or more pids to a group of that name.
func (c *cli) pidFlag(v string) error {
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
}

// fromEnvironment fills in what the flags in set did not give from
// PICTOR_SIGNING_KEYS, PICTOR_UPLOAD_TOKENS, PICTOR_SIGNATURE_LENGTH and
// IMGPROXY_BIN, as the server and scripts/bench.sh have them.
func (c *cli) fromEnvironment(set map[string]bool) {
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
	if !set["imgproxy"] {
		c.imgproxyBin = os.Getenv("IMGPROXY_BIN")
	}
}

// check reports settings that cannot run, before any scenario is parsed:
// all of them are cheaper to hear about now than after minutes of load.
func (c *cli) check() error {
	if len(c.targets) == 0 && c.imgproxyBin == "" {
		return fmt.Errorf("%w: no target: give --target, --template or --imgproxy", ErrUsage)
	}
	if err := c.cfg.Validate(); err != nil {
		return err
	}
	if c.baselineWorkers < 1 || c.baselineTime <= 0 || c.floorTime <= 0 {
		return fmt.Errorf("%w: --baseline-workers, --baseline-time and --floor-time must be positive", ErrUsage)
	}
	if c.docPath != "" {
		return checkDoc(c.docPath)
	}
	return nil
}

// buildSpecs parses the --scenario values (Kinds when none), drops those
// that name imgproxy when no imgproxy binary was given (saying how to build
// one), and checks that every target a scenario names was given.
func (c *cli) buildSpecs(fl *flagged, stderr io.Writer) error {
	scenarios := fl.scenarios
	if len(scenarios) == 0 {
		scenarios = Kinds
	}
	var skipped []string
	for _, s := range scenarios {
		sp, err := ParseSpec(s, c.cfg)
		if err != nil {
			return err
		}
		if c.imgproxyBin == "" && slices.Contains(sp.Targets, ImgproxyLabel) && !fl.labels[ImgproxyLabel] {
			skipped = append(skipped, sp.label())
			continue
		}
		for _, l := range sp.Targets {
			if !fl.labels[l] {
				return fmt.Errorf("%w %q: no target %q", ErrScenario, s, l)
			}
		}
		c.specs = append(c.specs, sp)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(stderr, "bench: skipped %s: %s\n", strings.Join(skipped, ", "), ImgproxySkipMessage())
	}
	return nil
}

// bindProcs checks --procs against the targets and --pid groups given and
// hands each target its groups.
func (c *cli) bindProcs(labels map[string]bool) error {
	names := map[string]bool{}
	for _, g := range c.groups {
		names[g.Name] = true
	}
	for label, ps := range c.procs {
		if !labels[label] {
			return fmt.Errorf("%w: --procs %s: no such target", ErrUsage, label)
		}
		for _, p := range ps {
			if !names[p] {
				return fmt.Errorf("%w: --procs %s: no --pid %s", ErrUsage, label, p)
			}
		}
	}
	for _, t := range c.targets {
		if procs, ok := c.procs[t.Label]; ok {
			t.Procs = procs
		}
	}
	return nil
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
