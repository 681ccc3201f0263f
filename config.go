package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pictorhq/pictor/server"
	"github.com/pictorhq/pictor/transform/device"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/workers"
)

// setting is one configuration value: a flag, its PICTOR_* variable and a
// default. The environment is applied first and flags override it, so
// deploy files can rely on the variables and a developer can still pass a
// flag.
type setting struct {
	name, env, def, usage string
	set                   func(string) error
	// check, when not nil, tests the final value; its error names no
	// variable (check adds it).
	check func() error
}

// bind registers settings on fs. Each setting's default goes through its
// set function first, so every field starts from the documented default.
func bind(fs *flag.FlagSet, settings []setting) error {
	for _, s := range settings {
		if err := s.set(s.def); err != nil {
			return fmt.Errorf("default for -%s: %w", s.name, err)
		}
		if v, ok := os.LookupEnv(s.env); ok {
			if err := s.set(v); err != nil {
				return fmt.Errorf("%s=%q: %w", s.env, v, err)
			}
		}
		usage := fmt.Sprintf("%s (env %s)", s.usage, s.env)
		fs.Func(s.name, usage, s.set)
		// Show the default in -h output.
		fs.Lookup(s.name).DefValue = s.def
	}
	return nil
}

func stringVar(p *string) func(string) error {
	return func(v string) error { *p = v; return nil }
}

func listVar(p *[]string) func(string) error {
	return func(v string) error {
		*p = nil
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*p = append(*p, item)
			}
		}
		return nil
	}
}

func boolVar(p *bool) func(string) error {
	return func(v string) error {
		switch strings.ToLower(v) {
		case "1", "t", "true", "on", "yes":
			*p = true
		case "0", "f", "false", "off", "no", "":
			*p = false
		default:
			return fmt.Errorf("not a boolean: %q", v)
		}
		return nil
	}
}

// intVar sets one or more fields to an integer: one setting may feed
// several packages (the largest dimension bounds both the URL grammar and
// the pipeline's output).
func intVar(ps ...*int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		for _, p := range ps {
			*p = n
		}
		return nil
	}
}

func durationVar(p *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		*p = d
		return nil
	}
}

func bytesVar(p *int64) func(string) error {
	return func(v string) error {
		n, err := parseBytes(v)
		if err != nil {
			return err
		}
		*p = n
		return nil
	}
}

// memoryBudgetVar is bytesVar with "auto" for workers.MachineMemory()/2.
func memoryBudgetVar(p *int64) func(string) error {
	return func(v string) error {
		if strings.TrimSpace(v) == "auto" {
			*p = workers.MachineMemory() / 2
			return nil
		}
		return bytesVar(p)(v)
	}
}

// parseBytes reads a byte count: a plain integer or one with a unit, KiB,
// MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000).
func parseBytes(v string) (int64, error) {
	s := strings.TrimSpace(v)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a byte count: %q", v)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("byte count too large: %q", v)
	}
	return n * mult, nil
}

// pixelsVar reads a pixel count: an integer, or megapixels with an MP
// suffix ("50MP").
func pixelsVar(p *int64) func(string) error {
	return func(v string) error {
		s := strings.TrimSpace(v)
		mult := 1.0
		if strings.HasSuffix(s, "MP") {
			s, mult = strings.TrimSuffix(s, "MP"), 1e6
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 1 {
			return fmt.Errorf("not a pixel count: %q", v)
		}
		*p = int64(f * mult)
		return nil
	}
}

// dataDirVar sets the data directory, and the disk tier's directory under
// it: originals/ and cache/ share one root, which Nginx aliases.
func dataDirVar(dir, cacheDir *string) func(string) error {
	return func(v string) error {
		*dir, *cacheDir = v, filepath.Join(v, "cache")
		return nil
	}
}

func keysVar(p *[]sign.Key) func(string) error {
	return func(v string) (err error) {
		*p, err = sign.ParseKeys(v)
		return err
	}
}

func presetsVar(p *map[string]options.Preset) func(string) error {
	return func(v string) (err error) {
		*p, err = options.ParsePresets(v)
		return err
	}
}

func overlaysVar(p *map[string]string) func(string) error {
	return func(v string) (err error) {
		*p, err = options.ParseOverlays(v)
		return err
	}
}

func dimensionsVar(p *[]int) func(string) error {
	return func(v string) (err error) {
		*p, err = options.ParseDimensions(v)
		return err
	}
}

func modeVar(p *device.Mode) func(string) error {
	return func(v string) error { *p = device.Mode(v); return nil }
}

// The checks below run once every setting has its final value (default,
// environment, then flag); load reports a failure as "PICTOR_X: reason",
// in the operator's terms rather than a Go field's.

func nonEmpty(p *string) func() error {
	return func() error {
		if *p == "" {
			return errors.New("must not be empty")
		}
		return nil
	}
}

func atLeast[T int | int64 | time.Duration](p *T, n T) func() error {
	return func() error {
		if *p < n {
			return fmt.Errorf("must be >= %v", n)
		}
		return nil
	}
}

func positive(p *time.Duration) func() error {
	return func() error {
		if *p <= 0 {
			return errors.New("must be > 0")
		}
		return nil
	}
}

func within(p *int, lo, hi int) func() error {
	return func() error {
		if *p < lo || *p > hi {
			return fmt.Errorf("must be from %d to %d", lo, hi)
		}
		return nil
	}
}

func oneOf[T ~string](p *T, vals ...T) func() error {
	return func() error {
		if slices.Contains(vals, *p) {
			return nil
		}
		want := make([]string, len(vals))
		for i, v := range vals {
			want[i] = string(v)
		}
		return fmt.Errorf("%q: want %s", *p, strings.Join(want, ", "))
	}
}

// tokensLong refuses short bearer tokens: a token is a password.
func tokensLong(p *[]string) func() error {
	return func() error {
		for _, t := range *p {
			if len(t) < 16 {
				return errors.New("each token must have at least 16 characters")
			}
		}
		return nil
	}
}

// accelPrefix checks the Nginx location, which matters only when
// X-Accel-Redirect is on.
func accelPrefix(c *server.Config) func() error {
	return func() error {
		if c.AccelRedirect && (!strings.HasPrefix(c.AccelPrefix, "/") || !strings.HasSuffix(c.AccelPrefix, "/")) {
			return fmt.Errorf("%q: must start and end with /", c.AccelPrefix)
		}
		return nil
	}
}

func logLevel(p *string) func() error {
	return func() error {
		var l slog.Level
		return l.UnmarshalText([]byte(*p))
	}
}

// check runs every setting's check.
func check(settings []setting) error {
	for _, s := range settings {
		if s.check == nil {
			continue
		}
		if err := s.check(); err != nil {
			return fmt.Errorf("%s: %w", s.env, err)
		}
	}
	return nil
}

// requiredFor refuses an empty *p when *backend is want: the S3 settings
// matter only with PICTOR_STORE=s3.
func requiredFor(backend *string, want string, p *string) func() error {
	return func() error {
		if *backend == want && *p == "" {
			return fmt.Errorf("must not be empty with PICTOR_STORE=%s", want)
		}
		return nil
	}
}

// corsOrigins checks each origin the way the server will use it.
func corsOrigins(p *[]string) func() error {
	return func() error {
		for _, o := range *p {
			if err := server.ValidOrigin(o); err != nil {
				return err
			}
		}
		return nil
	}
}
