package device

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/internal/resample"
	"github.com/pictorhq/pictor/transform/vips"
)

var (
	_ transform.Resizer    = (*Queue)(nil)
	_ transform.OnceReader = (*Queue)(nil)
)

// State is the device's state as /readyz reports it.
type State string

// The states.
const (
	StateOff    State = "off"    // ModeOff: no device wanted
	StateAbsent State = "absent" // ModeAuto and no GPU found
	StateReady  State = "ready"  // a device is in service
	StateDead   State = "dead"   // a device error took it out of service
)

// Queue sends resizes to a device when it is worth it and to libvips on
// the CPU otherwise. It implements transform.Resizer and is safe for
// concurrent use.
type Queue struct {
	cfg   Config
	dev   Device
	cpu   transform.Resizer
	m     *metrics
	jobs  chan *job
	slots chan struct{} // one per job on the device; cap = Capacity

	state   atomic.Value // State
	deadErr atomic.Value // error, once dead
	absent  error        // why no device was found (ModeAuto)

	closeOnce sync.Once
	workers   sync.WaitGroup
	// bufs keeps up to Capacity decoded-input buffers for reuse. Not a
	// sync.Pool: the buffers are tens of megabytes, and a pool emptied
	// by every collection would allocate one per job.
	bufs chan *[]byte
}

// Open returns a queue for cfg: with the CUDA device when cfg.Mode is auto
// or require and one is found, CPU-only otherwise. With ModeRequire a
// missing GPU is an error wrapping ErrNoDevice.
func Open(cfg Config) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Mode == ModeOff {
		return New(cfg, nil)
	}
	dev, err := OpenCUDA(cfg)
	if err != nil {
		if cfg.Mode == ModeRequire {
			return nil, err
		}
		q, qerr := New(cfg, nil)
		if qerr != nil {
			return nil, qerr
		}
		q.absent = err
		q.setState(StateAbsent)
		return q, nil
	}
	q, err := New(cfg, dev)
	if err != nil {
		_ = dev.Close()
		return nil, err
	}
	return q, nil
}

// New returns a queue in front of dev (nil: CPU only), starting one worker
// per stream. Tests pass a Fake.
func New(cfg Config, dev Device) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q := &Queue{
		cfg:   cfg,
		dev:   dev,
		cpu:   transform.CPUResizer{},
		jobs:  make(chan *job, cfg.Capacity),
		slots: make(chan struct{}, cfg.Capacity),
		bufs:  make(chan *[]byte, cfg.Capacity),
	}
	q.m = newMetrics(q)
	switch {
	case dev != nil:
		q.setState(StateReady)
		// Workers report when their stream is open, so that a device that
		// cannot open one is dead before New returns.
		opened := make(chan error, dev.Streams())
		for i := range dev.Streams() {
			q.workers.Add(1)
			go q.worker(i, opened)
		}
		for range dev.Streams() {
			if err := <-opened; err != nil {
				q.kill(err)
			}
		}
	case cfg.Mode == ModeOff:
		q.setState(StateOff)
	default:
		q.absent = ErrNoDevice
		q.setState(StateAbsent)
	}
	return q, nil
}

func (q *Queue) setState(s State) {
	q.state.Store(s)
	q.m.setState(s)
}

// State is the device's state.
func (q *Queue) State() State { return q.state.Load().(State) }

// Ready is nil when the queue can serve as configured: always, except with
// ModeRequire once the device is dead (or absent). /readyz reports it; the
// state itself (State) is worth showing beside it.
func (q *Queue) Ready() error {
	if q.cfg.Mode != ModeRequire {
		return nil
	}
	switch q.State() {
	case StateDead:
		return fmt.Errorf("%w: %v", ErrDead, q.deadErr.Load())
	case StateReady:
		return nil
	}
	return ErrNoDevice
}

// Err says why the device is not in service: nil when ready or off.
func (q *Queue) Err() error {
	switch q.State() {
	case StateDead:
		return q.deadErr.Load().(error)
	case StateAbsent:
		return q.absent
	}
	return nil
}

// DeviceName is the backend the device jobs run on ("cuda", "fake"), or
// "" without one.
func (q *Queue) DeviceName() string {
	if q.dev == nil {
		return ""
	}
	return q.dev.Name()
}

// kill takes the device out of service after an error.
func (q *Queue) kill(err error) {
	q.m.errors.Inc()
	if q.State() == StateDead {
		return
	}
	q.deadErr.Store(err)
	q.setState(StateDead)
}

// Close stops the workers after the jobs already queued and releases the
// device. Resize must not be called after Close.
func (q *Queue) Close() error {
	var err error
	q.closeOnce.Do(func() {
		close(q.jobs)
		q.workers.Wait()
		if q.dev != nil {
			err = q.dev.Close()
		}
	})
	return err
}

// job is one resize on its way through the device.
type job struct {
	ctx    context.Context
	plan   *resample.Plan
	src    *[]byte
	like   *vips.Image // a reference of the input, for the output's header
	queued time.Time
	// taken is set by the worker that starts the job, or by the caller
	// that gives up on it first: exactly one of them owns its end.
	taken atomic.Bool
	done  chan result
}

type result struct {
	img *vips.Image
	err error
}

// Resize implements transform.Resizer.
func (q *Queue) Resize(ctx context.Context, img *vips.Image, hscale, vscale float64) (*vips.Image, error) {
	if q.dev == nil {
		return q.onCPU(img, hscale, vscale, reasonOff)
	}
	if q.State() != StateReady {
		return q.onCPU(img, hscale, vscale, reasonDead)
	}
	if int64(img.Width())*int64(img.Height()) < q.cfg.MinPixels {
		return q.onCPU(img, hscale, vscale, reasonSmall)
	}
	// The plan the CPU's resize engine computes too: whichever backend
	// runs a job, its pixels are the same.
	plan := transform.EnginePlan(img, hscale, vscale)
	if plan == nil {
		return q.onCPU(img, hscale, vscale, reasonFormat)
	}
	select {
	case q.slots <- struct{}{}:
	default:
		return q.onCPU(img, hscale, vscale, reasonFull)
	}
	if err := ctx.Err(); err != nil {
		<-q.slots
		return nil, err
	}
	// Decode here, on the caller's goroutine: decoding is most of a PNG's
	// cost, and the callers, not the streams, have the cores for it.
	src := q.buffer(plan.InBytes())
	if err := img.WritePixels(*src); err != nil {
		<-q.slots
		q.release(src)
		// The source's pixels failed to decode; report it as the
		// pipeline's resize step would have.
		q.m.fallbacks.WithLabelValues(reasonInput).Inc()
		return nil, &transform.DecodeError{Err: err}
	}
	j := &job{ctx: ctx, plan: plan, src: src, like: img.Ref(), queued: time.Now(), done: make(chan result, 1)}
	q.jobs <- j // never blocks: the slot taken above is room in the channel

	select {
	case r := <-j.done:
		if err := ctx.Err(); err != nil && r.err != nil {
			return nil, err
		}
		if r.err != nil {
			return q.onCPU(img, hscale, vscale, reasonError)
		}
		q.m.jobs.WithLabelValues(q.dev.Name()).Inc()
		return r.img, nil
	case <-ctx.Done():
		if j.taken.CompareAndSwap(false, true) {
			// Still queued: the worker that dequeues it will drop it.
			return nil, ctx.Err()
		}
		// Running: its result is nobody's; close it when it comes.
		go func() {
			if r := <-j.done; r.img != nil {
				r.img.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// ReadsOnce implements transform.OnceReader. Without a device every resize
// is the CPU's, which reads its input once, top to bottom. With one, a
// job copies its input out for the device and, should the device fail,
// reads it again for the CPU fallback: it needs the input in memory.
func (q *Queue) ReadsOnce() bool { return q.dev == nil }

// onCPU runs a resize on the CPU (transform.CPUResizer), counting why.
func (q *Queue) onCPU(img *vips.Image, hscale, vscale float64, reason string) (*vips.Image, error) {
	q.m.fallbacks.WithLabelValues(reason).Inc()
	q.m.jobs.WithLabelValues("cpu").Inc()
	return q.cpu.Resize(context.Background(), img, hscale, vscale)
}

// buffer returns a reused input buffer of n bytes when one is free and
// large enough, else a new one.
func (q *Queue) buffer(n int) *[]byte {
	select {
	case b := <-q.bufs:
		if cap(*b) >= n {
			*b = (*b)[:n]
			return b
		}
	default:
	}
	b := make([]byte, n)
	return &b
}

// release keeps b for reuse unless enough are kept already.
func (q *Queue) release(b *[]byte) {
	select {
	case q.bufs <- b:
	default:
	}
}

// worker runs the jobs of stream i on one locked OS thread (a CUDA context
// is current per thread).
func (q *Queue) worker(i int, opened chan<- error) {
	defer q.workers.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s, err := q.dev.OpenStream(i)
	opened <- err
	if err != nil {
		s = nil
	}
	for j := range q.jobs {
		q.runJob(s, j)
	}
	if s != nil {
		if err := s.Close(); err != nil {
			q.kill(err)
		}
	}
}

func (q *Queue) runJob(s Stream, j *job) {
	// The input buffer, the reference and the slot are given back before
	// the result is sent, so that the caller's next job finds them free.
	finish := func() {
		q.release(j.src)
		j.like.Close()
		<-q.slots
	}
	if !j.taken.CompareAndSwap(false, true) {
		q.m.dropped.Inc()
		finish()
		return
	}
	r := q.run(s, j)
	finish()
	j.done <- r
}

// run is one job on stream s, or the reason it did not run.
func (q *Queue) run(s Stream, j *job) result {
	if err := j.ctx.Err(); err != nil {
		q.m.dropped.Inc()
		return result{err: err}
	}
	q.m.wait.Observe(time.Since(j.queued).Seconds())
	if s == nil || q.State() != StateReady {
		return result{err: ErrDead}
	}
	start := time.Now()
	out, err := s.Resize(j.plan, *j.src)
	if err != nil {
		q.kill(err)
		return result{err: err}
	}
	img, err := vips.FromPixels(out, j.plan.OutWidth(), j.plan.OutHeight(), j.plan.Bands, j.like)
	q.m.run.Observe(time.Since(start).Seconds())
	return result{img: img, err: err}
}
