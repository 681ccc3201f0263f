package harness

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pictorhq/pictor/transform/format"
)

// Defaults of the peer kinds (distinct, widths): the workloads.
const (
	peerWidth   = 400 // distinct: w_400
	peerQuality = 80  // imgproxy's default quality, given to both sides
	peerWidthLo = 300 // widths: 300…899, 600 widths
	peerWidthHi = 899
	// maxCopies bounds a distinct scenario's copies: each is a file on
	// disk and an upload (1.5 MB apiece for the corpus's JPEG photos).
	maxCopies = 20000
)

// ParseSpec parses a --scenario value, KIND[:KEY=VALUE,...], on top of the
// load settings def.
func ParseSpec(s string, def Config) (Spec, error) {
	kind, rest, _ := strings.Cut(s, ":")
	sp := Spec{Kind: kind, Config: def, Warm: true}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %q: %s", ErrScenario, s, fmt.Sprintf(format, a...))
	}
	if !slices.Contains(Kinds, kind) && !slices.Contains(PeerKinds, kind) {
		return sp, bad("kind %q: want one of %s", kind, strings.Join(append(slices.Clone(Kinds), PeerKinds...), ", "))
	}
	peer := slices.Contains(PeerKinds, kind)
	if peer {
		// A warm-up request would use up a fresh original or width; cold
		// means no warm-up.
		sp.Config.Warmup = 0
		sp.Width, sp.Quality = peerWidth, peerQuality
		sp.WidthLo, sp.WidthHi = peerWidthLo, peerWidthHi
	}
	for kv := range strings.SplitSeq(rest, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return sp, bad("%q: want KEY=VALUE", kv)
		}
		if !peer && peerKeys[k] {
			return sp, bad("%s= is for %s only", k, strings.Join(PeerKinds, " and "))
		}
		if err := sp.set(k, v); err != nil {
			return sp, bad("%v", err)
		}
	}
	if err := sp.Config.Validate(); err != nil {
		return sp, bad("%v", err)
	}
	if peer {
		if err := sp.settlePeer(); err != nil {
			return sp, bad("%v", err)
		}
	}
	return sp, nil
}

// peerKeys are the keys only the peer kinds take.
var peerKeys = map[string]bool{
	"file": true, "width": true, "widths": true, "quality": true, "out": true,
	"copies": true, "min-ratio": true, "max-rss-ratio": true, "max-floor-ratio": true,
}

// set applies one KEY=VALUE of a --scenario.
func (s *Spec) set(k, v string) error {
	var err error
	switch k {
	case "name":
		s.Name = v
	case "targets":
		s.Targets = strings.Split(v, "+")
	case "formats":
		for n := range strings.SplitSeq(v, "+") {
			f, ok := parseFormat(n)
			if !ok {
				return fmt.Errorf("format %q", n)
			}
			s.Formats = append(s.Formats, f)
		}
	case "conns", "connections":
		s.Config.Connections, err = strconv.Atoi(v)
	case "rate":
		s.Config.Rate, err = strconv.ParseFloat(v, 64)
	case "backlog":
		s.Config.Backlog, err = strconv.Atoi(v)
	case "duration":
		s.Config.Duration, err = time.ParseDuration(v)
	case "max", "max-requests":
		s.Config.MaxRequests, err = strconv.ParseInt(v, 10, 64)
	case "warmup":
		s.Config.Warmup, err = time.ParseDuration(v)
	case "timeout":
		s.Config.Timeout, err = time.ParseDuration(v)
	case "warm":
		s.Warm, err = parseOnOff(v)
	case "min-rps":
		s.MinRPS, err = strconv.ParseFloat(v, 64)
	case "max-rss":
		proc, size, ok := strings.Cut(v, ":")
		if !ok || proc == "" {
			return fmt.Errorf("max-rss=%s: want GROUP:SIZE, e.g. pictor:200MB", v)
		}
		s.RSSProc = proc
		s.MaxRSS, err = ParseSize(size)
	case "file":
		s.File = v
	case "width":
		s.Width, err = strconv.Atoi(v)
	case "widths":
		lo, hi, ok := strings.Cut(v, "-")
		if !ok {
			return fmt.Errorf("widths=%s: want LO-HI, e.g. 300-899", v)
		}
		if s.WidthLo, err = strconv.Atoi(lo); err == nil {
			s.WidthHi, err = strconv.Atoi(hi)
		}
	case "quality", "q":
		s.Quality, err = strconv.Atoi(v)
	case "out":
		f, ok := parseFormat(v)
		if !ok {
			return fmt.Errorf("out=%s: not a format", v)
		}
		s.Out = f
	case "copies":
		s.Copies, err = strconv.Atoi(v)
	case "min-ratio":
		s.MinRatio, err = strconv.ParseFloat(v, 64)
	case "max-rss-ratio":
		s.MaxRSSRatio, err = strconv.ParseFloat(v, 64)
	case "max-floor-ratio":
		s.MaxFloorRatio, err = strconv.ParseFloat(v, 64)
	default:
		return fmt.Errorf("unknown key %q", k)
	}
	if err != nil {
		return fmt.Errorf("%s=%s: %w", k, v, err)
	}
	return nil
}

// settlePeer checks a peer kind's settings and bounds its run to its
// fresh requests: one per copy (distinct) or per width (widths).
func (s *Spec) settlePeer() error {
	switch {
	case s.File == "":
		return fmt.Errorf("file=NAME is required: the original, a name in the corpus")
	case s.Quality < 1 || s.Quality > 100:
		return fmt.Errorf("quality=%d: want 1..100", s.Quality)
	case s.Width < 1, s.WidthLo < 1, s.WidthHi < s.WidthLo:
		return fmt.Errorf("width=%d widths=%d-%d: want widths of at least 1, LO <= HI", s.Width, s.WidthLo, s.WidthHi)
	case !finite(s.MinRatio), !finite(s.MaxRSSRatio), !finite(s.MaxFloorRatio):
		return fmt.Errorf("min-ratio, max-rss-ratio and max-floor-ratio must be finite and not negative")
	}
	pool := int64(s.WidthHi - s.WidthLo + 1)
	if s.Kind == Distinct {
		if s.Copies == 0 {
			s.Copies = int(min(s.Config.MaxRequests, maxCopies+1))
		}
		if s.Copies < 1 || s.Copies > maxCopies {
			return fmt.Errorf("copies=%d: want 1..%d (give max= or copies=)", s.Copies, maxCopies)
		}
		pool = int64(s.Copies)
	}
	s.Config.MaxRequests = min(s.Config.MaxRequests, pool)
	return nil
}

// finite reports whether a ratio target is a number from 0 up: strconv
// reads "NaN" and "Inf" too, and a NaN target would never be met.
func finite(r float64) bool { return r >= 0 && !math.IsInf(r, 1) }

func parseFormat(n string) (format.Format, bool) {
	f, ok := format.Parse(n)
	if !ok {
		f, ok = format.FromExt(n)
	}
	return f, ok
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
