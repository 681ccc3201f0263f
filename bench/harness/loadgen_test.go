package harness

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// serve runs a real fasthttp server on a loopback port until the test
// ends and returns a Target for it.
func serve(t *testing.T, h fasthttp.RequestHandler) *Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Shutdown(); <-done })
	tg, err := NewPictorTarget("test", "http://"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// numbered asks for /n/<n>, n counting up from 1 across workers.
type numbered struct {
	t *Target
	n atomic.Int64
}

func (g *numbered) Next(_ *Worker, req *fasthttp.Request) Work {
	req.SetRequestURI(g.t.origin + "/n/" + strconv.FormatInt(g.n.Add(1), 10))
	return Work{}
}

// quick is a Config for tests: short, no warm-up, fast sampling.
func quick() Config {
	c := DefaultConfig()
	c.Duration = 300 * time.Millisecond
	c.Warmup = 0
	c.Timeout = 5 * time.Second
	c.Interval = 100 * time.Millisecond
	c.SampleEvery = 50 * time.Millisecond
	return c
}

func TestClosedLoopCountsMatchServer(t *testing.T) {
	var served atomic.Int64
	var body = make([]byte, 1000)
	tg := serve(t, func(ctx *fasthttp.RequestCtx) {
		served.Add(1)
		ctx.SetBody(body)
	})
	cfg := quick()
	cfg.Connections = 8
	gen := &numbered{t: tg}
	m, err := Run(context.Background(), cfg, tg.Client(cfg), gen, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests == 0 || m.Requests != served.Load() || m.Requests != gen.n.Load() {
		t.Errorf("harness counted %d requests, the server %d, the generator made %d: want all equal and above 0",
			m.Requests, served.Load(), gen.n.Load())
	}
	if int64(m.Latency.Count()) != m.Requests {
		t.Errorf("latency histogram holds %d values for %d requests", m.Latency.Count(), m.Requests)
	}
	if m.Bytes != m.Requests*1000 {
		t.Errorf("Bytes = %d, want %d (1000 per response)", m.Bytes, m.Requests*1000)
	}
	var inTimeline int64
	for _, s := range m.Timeline {
		inTimeline += s.Requests
	}
	if inTimeline != m.Requests || len(m.Timeline) < 3 {
		t.Errorf("timeline: %d samples holding %d requests, want ≥ 3 samples holding %d", len(m.Timeline), inTimeline, m.Requests)
	}
	if len(m.Errors) != 0 {
		t.Errorf("Errors = %v, want none", m.Errors)
	}
}

func TestWarmupNotCounted(t *testing.T) {
	var served atomic.Int64
	tg := serve(t, func(ctx *fasthttp.RequestCtx) { served.Add(1) })
	cfg := quick()
	cfg.Warmup = 200 * time.Millisecond
	cfg.Connections = 2
	gen := &numbered{t: tg}
	m, err := Run(context.Background(), cfg, tg.Client(cfg), gen, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if served.Load() != gen.n.Load() {
		t.Fatalf("server saw %d requests, generator made %d", served.Load(), gen.n.Load())
	}
	if m.Requests == 0 || m.Requests >= served.Load() || int64(m.Latency.Count()) != m.Requests {
		t.Errorf("measured %d (histogram %d) of %d served: want the warm-up's left out", m.Requests, m.Latency.Count(), served.Load())
	}
	// 0.3 s measured plus the last answers; with the warm-up it would be
	// at least 0.5 s.
	if m.Seconds >= 0.5 {
		t.Errorf("Seconds = %.3f: the warm-up seems to be counted in the measured time", m.Seconds)
	}
}

func TestOpenLoopMeasuresFromDueTime(t *testing.T) {
	// The server stalls once, for 200 ms, everything it gets meanwhile.
	// At 200 requests a second with 2 connections, about 40 requests fall
	// due during the stall and wait in the client's backlog; measured from
	// when they were due, they are slow. Measured from when they were sent
	// (coordinated omission) only the 2 in flight would be.
	const stall = 200 * time.Millisecond
	var (
		mu      sync.Mutex
		stalled bool
		until   time.Time
		start   = time.Now()
	)
	tg := serve(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		if !stalled && time.Since(start) > 300*time.Millisecond {
			stalled, until = true, time.Now().Add(stall)
		}
		wait := time.Until(until)
		mu.Unlock()
		if wait > 0 {
			time.Sleep(wait)
		}
	})
	cfg := quick()
	cfg.Rate = 200
	cfg.Connections = 2
	cfg.Duration = time.Second
	start = time.Now()
	m, err := Run(context.Background(), cfg, tg.Client(cfg), &numbered{t: tg}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 200 {
		t.Errorf("Requests = %d, want 200 (200/s for 1 s; errors %v)", m.Requests, m.Errors)
	}
	if max := m.Latency.Max(); max < stall*9/10 {
		t.Errorf("Max = %v, want ≥ %v: the stall is missing", max, stall*9/10)
	}
	if p99 := m.Latency.Quantile(0.99); p99 < stall/2 {
		t.Errorf("p99 = %v, want ≥ %v: requests queued behind the stall are not measured from when they were due", p99, stall/2)
	}
	if n := m.Latency.CountAbove(50 * time.Millisecond); n < 10 {
		t.Errorf("%d requests took over 50 ms, want ≥ 10 (about 30 fell due during the stall)", n)
	}
	// Its whole schedule was 1 s; the stall delays the last answers by
	// a little at most (a loaded machine, by more).
	if m.Seconds < 0.95 || m.Seconds > 3 {
		t.Errorf("Seconds = %.3f, want about 1", m.Seconds)
	}
}

func TestOpenLoopOverrun(t *testing.T) {
	// One connection, a backlog of 5, a server that takes 20 ms: at
	// 500/s most arrivals find the backlog full.
	tg := serve(t, func(ctx *fasthttp.RequestCtx) { time.Sleep(20 * time.Millisecond) })
	cfg := quick()
	cfg.Rate = 500
	cfg.Connections = 1
	cfg.Backlog = 5
	m, err := Run(context.Background(), cfg, tg.Client(cfg), &numbered{t: tg}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	due := int64(cfg.Duration.Seconds() * cfg.Rate)
	if over := m.Errors[errOverrun]; over == 0 || over+m.Requests != due {
		t.Errorf("%d overruns + %d requests, want %d due in all, with overruns", over, m.Requests, due)
	}
	if m.Requests > 25 {
		t.Errorf("Requests = %d: one connection at 20 ms each cannot answer more than ~20 in 300 ms plus the backlog", m.Requests)
	}
}

func TestErrorsByKind(t *testing.T) {
	var served, refused atomic.Int64
	tg := serve(t, func(ctx *fasthttp.RequestCtx) {
		switch n := served.Add(1); {
		case n%5 == 0:
			refused.Add(1)
			ctx.SetStatusCode(fasthttp.StatusTooManyRequests)
		case n%7 == 0:
			ctx.Response.Header.Set("X-Accel-Redirect", "/_pictor/cache/x")
		}
	})
	cfg := quick()
	cfg.Connections = 4
	m, err := Run(context.Background(), cfg, tg.Client(cfg), &numbered{t: tg}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Errors["429"] == 0 || m.Errors["429"] != refused.Load() {
		t.Errorf("Errors[429] = %d, server refused %d", m.Errors["429"], refused.Load())
	}
	if m.Errors[errAccel] == 0 {
		t.Errorf("Errors[%s] = 0: answers with X-Accel-Redirect were taken for images", errAccel)
	}
	if m.Requests != served.Load() {
		t.Errorf("Requests = %d, served %d: failed requests must count too", m.Requests, served.Load())
	}

	// Nothing listens: every request fails in transport.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead, _ := NewPictorTarget("dead", "http://"+ln.Addr().String())
	ln.Close()
	cfg.MaxRequests = 20
	m, err = Run(context.Background(), cfg, dead.Client(cfg), &numbered{t: dead}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 20 || m.Errors[errConn] != 20 {
		t.Errorf("against a closed port: %d requests, errors %v; want 20, all %q", m.Requests, m.Errors, errConn)
	}
}

func TestTimeout(t *testing.T) {
	tg := serve(t, func(ctx *fasthttp.RequestCtx) { time.Sleep(300 * time.Millisecond) })
	cfg := quick()
	cfg.Timeout = 50 * time.Millisecond
	cfg.Connections = 1
	cfg.MaxRequests = 2
	m, err := Run(context.Background(), cfg, tg.Client(cfg), &numbered{t: tg}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Errors[errTimeout] == 0 {
		t.Errorf("Errors = %v, want %q", m.Errors, errTimeout)
	}
}

func TestBounds(t *testing.T) {
	tg := serve(t, func(ctx *fasthttp.RequestCtx) {})
	for _, c := range []struct {
		name         string
		rate         float64
		duration     time.Duration
		max          int64
		wantRequests int64 // 0: any above 0
		maxSeconds   float64
	}{
		{"closed, duration", 0, 300 * time.Millisecond, 0, 0, 0.6},
		{"closed, max requests", 0, time.Minute, 50, 50, 5},
		{"open, duration", 400, 300 * time.Millisecond, 0, 120, 0.6},
		{"open, max requests", 1000, time.Minute, 100, 100, 1},
	} {
		cfg := quick()
		cfg.Rate, cfg.Duration = c.rate, c.duration
		if c.max > 0 {
			cfg.MaxRequests = c.max
		}
		m, err := Run(context.Background(), cfg, tg.Client(cfg), &numbered{t: tg}, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Requests == 0 || c.wantRequests > 0 && m.Requests != c.wantRequests {
			t.Errorf("%s: Requests = %d, want %d", c.name, m.Requests, c.wantRequests)
		}
		if m.Seconds > c.maxSeconds {
			t.Errorf("%s: ran %.2f s, want at most %.2f", c.name, m.Seconds, c.maxSeconds)
		}
	}
}

func TestCancel(t *testing.T) {
	tg := serve(t, func(ctx *fasthttp.RequestCtx) {})
	cfg := quick()
	cfg.Duration = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Run(ctx, cfg, tg.Client(cfg), &numbered{t: tg}, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("a cancelled run took %v to return", el)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Config)
	}{
		{"no connections", func(c *Config) { c.Connections = 0 }},
		{"negative rate", func(c *Config) { c.Rate = -1 }},
		{"unbounded in time", func(c *Config) { c.Duration = 0 }},
		{"unbounded in requests", func(c *Config) { c.MaxRequests = 0 }},
		{"no timeout", func(c *Config) { c.Timeout = 0 }},
		{"negative warm-up", func(c *Config) { c.Warmup = -time.Second }},
	} {
		cfg := DefaultConfig()
		c.edit(&cfg)
		if cfg.Validate() == nil {
			t.Errorf("%s: Validate() = nil, want an error", c.name)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
}
