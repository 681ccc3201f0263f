package harness

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform/format"
)

func TestParseSpec(t *testing.T) {
	def := DefaultConfig()
	for _, c := range []struct {
		in    string
		check func(Spec) bool
	}{
		{"cold", func(s Spec) bool { return s.Kind == Cold && s.label() == "cold" && s.Config == def && s.Warm }},
		{"cold:name=cold-jpeg,formats=jpeg+png,conns=4,max=100,duration=2m,warmup=0s,max-rss=pictor:200MB", func(s Spec) bool {
			return s.label() == "cold-jpeg" && len(s.Formats) == 2 && s.Formats[0] == format.JPEG && s.Formats[1] == format.PNG &&
				s.Config.Connections == 4 && s.Config.MaxRequests == 100 && s.Config.Duration == 2*time.Minute &&
				s.Config.Warmup == 0 && s.RSSProc == "pictor" && s.MaxRSS == 200e6
		}},
		{"hot:rate=5000,backlog=100,targets=a+b,warm=off,min-rps=15000,timeout=1s", func(s Spec) bool {
			return s.Config.Rate == 5000 && s.Config.Backlog == 100 && len(s.Targets) == 2 && !s.Warm &&
				s.MinRPS == 15000 && s.Config.Timeout == time.Second && s.Config.Mode() == "open"
		}},
		{"upload:formats=jpg", func(s Spec) bool { return s.Formats[0] == format.JPEG }},
	} {
		s, err := ParseSpec(c.in, def)
		if err != nil || !c.check(s) {
			t.Errorf("ParseSpec(%q) = %+v, %v", c.in, s, err)
		}
	}
	for _, bad := range []string{
		"warm", "cold:conns", "cold:conns=x", "cold:conns=0", "cold:duration=0s", "cold:formats=tiff",
		"cold:max-rss=200MB", "cold:what=1", "hot:warm=maybe", "cold:rate=-1", "cold:max=0",
	} {
		if _, err := ParseSpec(bad, def); !errors.Is(err, ErrScenario) {
			t.Errorf("ParseSpec(%q) = %v, want ErrScenario", bad, err)
		}
	}
}

func TestParseArgs(t *testing.T) {
	c, err := parseArgs([]string{
		"--target", "a=http://127.0.0.1:1", "--template", "p=http://127.0.0.1:2/{w}/{file}",
		"--pid", "pictor=1", "--pid", "pictor=2", "--pid", "nginx=3", "--procs", "a=pictor,nginx",
		"--scenario", "cold:targets=p", "--duration", "3s", "--seed", "9",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.targets) != 2 || c.targets[0].IsPictor() != true || c.targets[1].IsPictor() {
		t.Errorf("targets = %+v", c.targets)
	}
	if len(c.groups) != 2 || len(c.groups[0].PIDs) != 2 {
		t.Errorf("groups = %+v, want pictor=1,2 and nginx=3", c.groups)
	}
	if gs := c.groupsFor(c.targets[1]); len(gs) != 2 {
		t.Errorf("a target without --procs has groups %v, want all", gs)
	}
	if len(c.specs) != 1 || c.specs[0].Config.Duration != 3*time.Second || len(c.targetsFor(c.specs[0])) != 1 {
		t.Errorf("specs = %+v", c.specs)
	}
	if !strings.HasPrefix(c.command, "pictor-bench --target a=http://127.0.0.1:1 --template 'p=http://127.0.0.1:2/{w}/{file}'") {
		t.Errorf("command = %q", c.command)
	}
	t.Setenv("PICTOR_SIGNING_KEYS", "k9:from-the-environment")
	t.Setenv("PICTOR_UPLOAD_TOKENS", "tok1,tok2")
	t.Setenv("PICTOR_SIGNATURE_LENGTH", "20")
	env, _ := parseArgs([]string{"--target", "a=http://h:1"}, io.Discard)
	if env == nil || env.keys != "k9:from-the-environment" || env.token != "tok1" || env.sigLength != 20 {
		t.Errorf("defaults from the environment: %+v", env)
	}
	off, _ := parseArgs([]string{"--target", "a=http://h:1", "--key", "", "--signature-length", "12"}, io.Discard)
	if off == nil || off.keys != "" || off.sigLength != 12 {
		t.Errorf("--key '' should turn signing off whatever the environment says: %+v", off)
	}
	up, _ := parseArgs([]string{"--template", "p=http://h:1/{w}", "--scenario", "upload"}, io.Discard)
	if up == nil || len(up.targetsFor(up.specs[0])) != 0 {
		t.Errorf("upload should not run against a peer")
	}
	for _, bad := range [][]string{
		{},
		{"--target", "a=http://h:1", "--target", "a=http://h:2"},
		{"--target", "a"},
		{"--target", "a=http://h:1", "--pid", "x=abc"},
		{"--target", "a=http://h:1", "--procs", "a=nope"},
		{"--target", "a=http://h:1", "--procs", "b=nope"},
		{"--target", "a=http://h:1", "--scenario", "cold:targets=b"},
		{"--target", "a=http://h:1", "--scenario", "sideways"},
		{"--target", "a=http://h:1", "stray"},
		{"--template", "p=http://h:1/{nope}"},
	} {
		if _, err := parseArgs(bad, io.Discard); err == nil {
			t.Errorf("parseArgs(%q) = nil error", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{{"200MB", 200e6}, {"200MiB", 200 << 20}, {"1.5GB", 1.5e9}, {"4096", 4096}, {"10kB", 10e3}, {"3KiB", 3072}, {"7B", 7}} {
		if got, err := ParseSize(c.in); err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "MB", "-1MB", "2 TB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = nil error", bad)
		}
	}
}

func TestReplaceBlock(t *testing.T) {
	for _, c := range []struct {
		doc, block, want string
		err              error
	}{
		{"a\n<!-- bench:begin -->\nold\n<!-- bench:end -->\nb\n", "new\n", "a\n<!-- bench:begin -->\nnew\n<!-- bench:end -->\nb\n", nil},
		{"<!-- bench:begin --><!-- bench:end -->", "x", "<!-- bench:begin -->\nx\n<!-- bench:end -->", nil},
		{"no markers", "x", "", ErrMarkers},
		{"<!-- bench:end -->\n<!-- bench:begin -->", "x", "", ErrMarkers},
		{"<!-- bench:begin -->", "x", "", ErrMarkers},
		{"<!-- bench:begin --><!-- bench:end --><!-- bench:begin --><!-- bench:end -->", "x", "", ErrMarkers},
	} {
		got, err := replaceBlock([]byte(c.doc), c.block)
		if !errors.Is(err, c.err) || string(got) != c.want {
			t.Errorf("replaceBlock(%q, %q) = %q, %v; want %q, %v", c.doc, c.block, got, err, c.want, c.err)
		}
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"--target", "a=http://h:1", "--scenario", "cold:max=5,targets=a+b", "it's", ""})
	want := `--target a=http://h:1 --scenario cold:max=5,targets=a+b 'it'\''s' ''`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}
