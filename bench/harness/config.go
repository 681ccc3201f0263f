package harness

import (
	"fmt"
	"time"
)

// Config is how one load run is driven: the loop, its bounds and its
// sampling. The zero value is not usable; start from DefaultConfig.
type Config struct {
	// Connections is, in the closed loop, the number of connections that
	// each send their next request as soon as the last one is answered;
	// in the open loop, the most requests in flight at once. Default 4.
	Connections int
	// Rate, when above 0, makes the loop open: requests are due at fixed
	// intervals of 1/Rate seconds whatever the server does, and latency is
	// measured from when each was due, so time spent queued behind a slow
	// answer counts (no coordinated omission). 0 (the default) is the
	// closed loop.
	Rate float64
	// Backlog bounds, in the open loop, the requests that are due but wait
	// for one of the Connections to come free. An arrival that finds the
	// backlog full is not sent and counts as an "overrun" error; it is
	// not in Requests or in the latency figures. 0 (the default) means
	// one second of arrivals (Rate), and never fewer than Connections.
	Backlog int
	// Duration bounds the measured part of the run. Default 10 s.
	Duration time.Duration
	// MaxRequests bounds the measured part by requests sent. Default
	// 5,000,000: far more than a run of seconds sends at the rates a
	// small machine reaches, but a bound all the same.
	MaxRequests int64
	// Warmup is a period run before the measured part, with the same load,
	// whose requests are not counted. Default 1 s; 0 turns it off.
	Warmup time.Duration
	// Timeout bounds each request: connect, write and read. Default 30 s,
	// above the sidecar's own 10 s deadline, so its 503 arrives first.
	Timeout time.Duration
	// Interval is the width of one timeline sample. Default 1 s.
	Interval time.Duration
	// SampleEvery is how often server processes are read from /proc.
	// Default 250 ms: often enough to catch a short RSS peak, seldom enough
	// that reading /proc costs nothing measurable.
	SampleEvery time.Duration
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Connections: 4,
		Duration:    10 * time.Second,
		MaxRequests: 5_000_000,
		Warmup:      time.Second,
		Timeout:     30 * time.Second,
		Interval:    time.Second,
		SampleEvery: 250 * time.Millisecond,
	}
}

// maxConnections is far above what one loopback client on a small machine
// can keep busy; beyond it a typo (10000 for 100) is the likelier cause.
const maxConnections = 4096

// Validate reports a setting out of range.
func (c Config) Validate() error {
	switch {
	case c.Connections < 1 || c.Connections > maxConnections:
		return fmt.Errorf("harness: Connections = %d, want 1..%d", c.Connections, maxConnections)
	case c.Rate < 0:
		return fmt.Errorf("harness: Rate = %g, want >= 0", c.Rate)
	case c.Backlog < 0:
		return fmt.Errorf("harness: Backlog = %d, want >= 0", c.Backlog)
	case c.Duration <= 0:
		return fmt.Errorf("harness: Duration = %v, want > 0 (every run is bounded in time)", c.Duration)
	case c.MaxRequests < 1:
		return fmt.Errorf("harness: MaxRequests = %d, want > 0 (every run is bounded in requests)", c.MaxRequests)
	case c.Warmup < 0:
		return fmt.Errorf("harness: Warmup = %v, want >= 0", c.Warmup)
	case c.Timeout <= 0:
		return fmt.Errorf("harness: Timeout = %v, want > 0", c.Timeout)
	case c.Interval <= 0:
		return fmt.Errorf("harness: Interval = %v, want > 0", c.Interval)
	case c.SampleEvery <= 0:
		return fmt.Errorf("harness: SampleEvery = %v, want > 0", c.SampleEvery)
	}
	return nil
}

// Mode is "open" or "closed", as the results file names it.
func (c Config) Mode() string {
	if c.Rate > 0 {
		return "open"
	}
	return "closed"
}

// backlog is Backlog with its default filled in.
func (c Config) backlog() int {
	if c.Backlog > 0 {
		return c.Backlog
	}
	return max(int(c.Rate), c.Connections)
}
