package harness

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pictorhq/pictor/bench/report"
	"github.com/valyala/fasthttp"
)

// Doer sends one request and reads the whole response:
// *fasthttp.HostClient.
type Doer interface {
	Do(req *fasthttp.Request, resp *fasthttp.Response) error
}

// Generator makes the requests of a run. Next is called from every worker
// at once; w is the calling worker's own state, so a generator keeps its
// per-worker state (random source, Zipf sampler) there and needs no locks
// for it.
type Generator interface {
	// Next fills req, which has been reset, with the next request and says
	// what the request asks the server to make.
	Next(w *Worker, req *fasthttp.Request) Work
}

// Work is what one request asks a server to make: a transform of File with
// Options. The harness keeps the Work of every successful request of a
// cold run so that the in-process baseline can repeat exactly that work.
// The zero Work (uploads, cache hits) is not kept.
type Work struct {
	File    *File
	Options string // canonical transform options, e.g. "w_1152,q_72"
}

// Worker is one connection of a closed loop or one request slot of an open
// loop.
type Worker struct {
	ID   int
	Rand *rand.Rand
	// State is the generator's, set on its first call for this worker.
	State any
}

// Measurement is what one run measured: its measured part only, never the
// warm-up.
type Measurement struct {
	Seconds   float64 // from the first request sent to the last answer
	Requests  int64   // answered, with any status, or failed in transport
	Errors    map[string]int64
	Bytes     int64 // response bodies
	Latency   *Histogram
	Timeline  []report.Sample
	Processes []report.Process
	// ClientCPU is the CPU this process (the load generator) used during
	// the measured part: on a machine it shares with the servers, what it
	// took from them.
	ClientCPU time.Duration
	// Works are the transforms the successful requests asked for, when
	// RunOptions.KeepWork is set.
	Works []Work
}

// RunOptions are the parts of a run beside its Config.
type RunOptions struct {
	// Groups are the server processes read from /proc during the measured
	// part.
	Groups []ProcGroup
	// KeepWork keeps each successful request's Work in the Measurement.
	KeepWork bool
	// Progress, when not nil, is told about the run as it goes.
	Progress *Progress
	// Seed seeds the workers' random sources; runs with one seed make the
	// same choices in the same order per worker.
	Seed uint64
}

// Error kinds beside HTTP statuses.
const (
	errTimeout = "timeout" // no answer within Config.Timeout
	errConn    = "conn"    // refused, reset or closed before an answer
	errOverrun = "overrun" // open loop: backlog full, never sent
	// errAccel is an answer with X-Accel-Redirect and no image: the
	// sidecar behind Nginx tells Nginx to send a file; a client that
	// talks to the sidecar directly did not get what it asked for.
	errAccel = "x-accel-redirect"
	errOther = "other"
)

// errKind names a transport failure.
func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, fasthttp.ErrNoFreeConns),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ENOENT), errors.As(err, &ne):
		return errConn
	}
	return errOther
}

// slot is one timeline interval.
type slot struct {
	hist Histogram
	n    atomic.Int64
	errs atomic.Int64
}

// recorder collects one phase of a run. Every method is safe for
// concurrent use.
type recorder struct {
	start    time.Time
	interval time.Duration
	hist     Histogram
	requests atomic.Int64
	errors   atomic.Int64
	bytes    atomic.Int64
	status   [600]atomic.Int64 // errors by HTTP status

	mu    sync.Mutex
	kinds map[string]int64 // transport errors and overruns
	slots []*slot
	keep  bool
	works []Work
}

func newRecorder(interval time.Duration, keep bool) *recorder {
	return &recorder{start: time.Now(), interval: interval, kinds: map[string]int64{}, keep: keep}
}

func (r *recorder) slot(at time.Duration) *slot {
	i := max(int(at/r.interval), 0)
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.slots) <= i {
		r.slots = append(r.slots, &slot{})
	}
	return r.slots[i]
}

func (r *recorder) kind(k string) {
	r.mu.Lock()
	r.kinds[k]++
	r.mu.Unlock()
}

// record counts one request that ended: status is 0 when it failed in
// transport, and kind then names why.
func (r *recorder) record(lat time.Duration, status int, kind string, body int, w Work) {
	s := r.slot(time.Since(r.start))
	r.hist.Record(lat)
	s.hist.Record(lat)
	r.requests.Add(1)
	s.n.Add(1)
	r.bytes.Add(int64(body))
	failed := kind != "" || status >= 400
	if failed {
		r.errors.Add(1)
		s.errs.Add(1)
		if kind != "" {
			r.kind(kind)
		} else if status < len(r.status) {
			r.status[status].Add(1)
		}
		return
	}
	if r.keep && w.File != nil {
		r.mu.Lock()
		r.works = append(r.works, w)
		r.mu.Unlock()
	}
}

func (r *recorder) overrun() {
	r.errors.Add(1)
	r.kind(errOverrun)
}

func (r *recorder) measurement(elapsed time.Duration) *Measurement {
	m := &Measurement{
		Seconds:  elapsed.Seconds(),
		Requests: r.requests.Load(),
		Bytes:    r.bytes.Load(),
		Latency:  &r.hist,
		Errors:   map[string]int64{},
	}
	for code := range r.status {
		if n := r.status[code].Load(); n > 0 {
			m.Errors[strconv.Itoa(code)] = n
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, n := range r.kinds {
		m.Errors[k] = n
	}
	for i, s := range r.slots {
		end := min(time.Duration(i+1)*r.interval, elapsed)
		m.Timeline = append(m.Timeline, report.Sample{
			T:        end.Seconds(),
			Requests: s.n.Load(),
			Errors:   s.errs.Load(),
			P50:      ms(s.hist.Quantile(0.50)),
			P90:      ms(s.hist.Quantile(0.90)),
			P99:      ms(s.hist.Quantile(0.99)),
		})
	}
	m.Works = r.works
	return m
}

// load is one run in progress.
type load struct {
	cfg     Config
	client  Doer
	gen     Generator
	workers []*Worker
}

// Run drives gen against client as cfg says: a warm-up whose requests are
// dropped, then the measured part, bounded by cfg.Duration and
// cfg.MaxRequests, with opts.Groups read from /proc throughout. A
// cancelled ctx ends either part early; requests in flight then finish
// (each within cfg.Timeout) and the measurement so far is returned.
func Run(ctx context.Context, cfg Config, client Doer, gen Generator, opts RunOptions) (*Measurement, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &load{cfg: cfg, client: client, gen: gen}
	for i := range cfg.Connections {
		l.workers = append(l.workers, &Worker{ID: i, Rand: rand.New(rand.NewPCG(opts.Seed, uint64(i)))})
	}
	p := opts.Progress
	if cfg.Warmup > 0 {
		warm := newRecorder(cfg.Interval, false)
		p.phase("warm-up", cfg.Warmup, cfg.MaxRequests, warm)
		l.phase(ctx, cfg.Warmup, cfg.MaxRequests, warm)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec := newRecorder(cfg.Interval, opts.KeepWork)
	p.phase("measure", cfg.Duration, cfg.MaxRequests, rec)
	sampling := StartSampling(opts.Groups, cfg.SampleEvery)
	cpu0 := cpuTime()
	l.phase(ctx, cfg.Duration, cfg.MaxRequests, rec)
	elapsed := time.Since(rec.start)
	clientCPU := cpuTime() - cpu0
	procs := sampling.Stop()
	p.done()
	m := rec.measurement(elapsed)
	m.ClientCPU = clientCPU
	for i := range procs {
		if m.Requests > 0 {
			procs[i].CPUPerRequest = procs[i].CPUSeconds * 1e3 / float64(m.Requests)
		}
	}
	m.Processes = procs
	return m, nil
}

func (l *load) phase(ctx context.Context, d time.Duration, maxRequests int64, rec *recorder) {
	rec.start = time.Now()
	if l.cfg.Rate > 0 {
		l.open(ctx, d, maxRequests, rec)
	} else {
		l.closed(ctx, d, maxRequests, rec)
	}
}

// closed runs every worker back to back until d has passed or
// maxRequests have been sent.
func (l *load) closed(ctx context.Context, d time.Duration, maxRequests int64, rec *recorder) {
	end := time.Now().Add(d)
	var sent atomic.Int64
	var wg sync.WaitGroup
	for _, w := range l.workers {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for ctx.Err() == nil && time.Now().Before(end) {
				if maxRequests > 0 && sent.Add(1) > maxRequests {
					return
				}
				l.do(w, req, resp, time.Now(), rec)
			}
		})
	}
	wg.Wait()
}

// open makes requests due at fixed intervals for d (or until maxRequests
// have been due) and hands each to a free worker; each request's latency
// runs from when it was due, not from when a worker got to it.
func (l *load) open(ctx context.Context, d time.Duration, maxRequests int64, rec *recorder) {
	due := make(chan time.Time, l.cfg.backlog())
	var wg sync.WaitGroup
	for _, w := range l.workers {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for at := range due {
				if ctx.Err() != nil {
					continue // drain: cancelled runs send nothing more
				}
				l.do(w, req, resp, at, rec)
			}
		})
	}
	start := time.Now()
	total := int64(d.Seconds() * l.cfg.Rate)
	if maxRequests > 0 {
		total = min(total, maxRequests)
	}
	// Computed from the start each time, so rounding never accumulates.
	at := func(i int64) time.Time {
		return start.Add(time.Duration(float64(i) * float64(time.Second) / l.cfg.Rate))
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); i < total && ctx.Err() == nil; {
		now := time.Now()
		for ; i < total && !at(i).After(now); i++ {
			select {
			case due <- at(i):
			default:
				rec.overrun()
			}
		}
		if i < total {
			timer.Reset(time.Until(at(i)))
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
	}
	close(due)
	wg.Wait()
}

// do sends one request and records it against its due time.
func (l *load) do(w *Worker, req *fasthttp.Request, resp *fasthttp.Response, due time.Time, rec *recorder) {
	req.Reset()
	resp.Reset()
	work := l.gen.Next(w, req)
	err := l.client.Do(req, resp)
	lat := time.Since(due)
	switch {
	case err != nil:
		rec.record(lat, 0, errKind(err), 0, work)
	case len(resp.Header.Peek("X-Accel-Redirect")) > 0:
		rec.record(lat, resp.StatusCode(), errAccel, len(resp.Body()), work)
	default:
		rec.record(lat, resp.StatusCode(), "", len(resp.Body()), work)
	}
}
