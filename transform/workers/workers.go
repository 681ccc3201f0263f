// Package workers bounds how many transforms run at once and how many wait.
//
// Admission never blocks: a request that finds every worker busy and the
// waiting room full gets ErrQueueFull at once, which the server answers with
// 429 and Retry-After. An admitted request then waits for a worker for as
// long as its context allows. This is the imgproxy workers pattern: a full
// server says so immediately instead of letting latency grow without bound.
package workers

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
)

// ErrQueueFull is returned by Acquire when the pool and its queue are full.
var ErrQueueFull = errors.New("workers: queue full")

// TooLargeError is returned by Acquire for work whose memory estimate is
// over the whole budget: it could never run, however long it waited.
type TooLargeError struct {
	Need, Budget int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("transform needs about %d MiB, over the memory budget of %d MiB (PICTOR_MEMORY_BUDGET)",
		(e.Need+(1<<20)-1)>>20, e.Budget>>20)
}

// Config sizes the pool.
type Config struct {
	// Workers is how many transforms run at once. Default: GOMAXPROCS,
	// because a transform is CPU-bound and libvips runs one thread per image.
	Workers int
	// Queue is how many admitted requests may wait for a worker. Default:
	// 16 per worker, about a second and a half of cold transforms.
	Queue int
	// MemoryBudget is how many bytes the running transforms' estimates may
	// add up to. Default: half the machine's memory (or of the cgroup's
	// limit, when lower); see MachineMemory. Zero: admission by count only.
	MemoryBudget int64
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	n := runtime.GOMAXPROCS(0)
	return Config{Workers: n, Queue: 16 * n, MemoryBudget: MachineMemory() / 2}
}

// Validate reports a setting out of range.
func (c Config) Validate() error {
	if c.Workers < 1 {
		return fmt.Errorf("workers: Workers = %d, want >= 1", c.Workers)
	}
	if c.Queue < 0 {
		return fmt.Errorf("workers: Queue = %d, want >= 0", c.Queue)
	}
	if c.MemoryBudget < 0 {
		return fmt.Errorf("workers: MemoryBudget = %d, want >= 0", c.MemoryBudget)
	}
	return nil
}

// Pool is a bounded set of worker slots with a bounded waiting room.
type Pool struct {
	slots    chan struct{}
	capacity int64
	admitted atomic.Int64 // running + waiting
	running  atomic.Int64
	idle     func() // see OnIdle

	budget   int64
	memory   *semaphore.Weighted // FIFO: a large estimate is not overtaken
	reserved atomic.Int64        // bytes held by admitted work past the memory wait
}

// OnIdle sets f to be called, on the releasing goroutine, each time the last
// admitted transform releases its worker. Set it before the first Acquire.
func (p *Pool) OnIdle(f func()) { p.idle = f }

// New returns a pool for cfg.
func New(cfg Config) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Pool{
		slots:    make(chan struct{}, cfg.Workers),
		capacity: int64(cfg.Workers + cfg.Queue),
		budget:   cfg.MemoryBudget,
	}
	if p.budget > 0 {
		p.memory = semaphore.NewWeighted(p.budget)
	}
	return p, nil
}

// Acquire admits work expected to hold up to bytes at its peak: at once a
// *TooLargeError when bytes is over the whole budget, or ErrQueueFull when
// the pool and its queue are full; else it waits, until ctx is done, for
// the memory to be free and then for a worker. On success the caller must
// call release exactly once.
func (p *Pool) Acquire(ctx context.Context, bytes int64) (release func(), err error) {
	if p.memory == nil {
		bytes = 0
	} else if bytes = max(bytes, 1); bytes > p.budget {
		return nil, &TooLargeError{Need: bytes, Budget: p.budget}
	}
	if p.admitted.Add(1) > p.capacity {
		p.admitted.Add(-1)
		return nil, ErrQueueFull
	}
	if err := p.reserve(ctx, bytes); err != nil {
		p.admitted.Add(-1)
		return nil, err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		p.unreserve(bytes)
		p.admitted.Add(-1)
		return nil, ctx.Err()
	}
	p.running.Add(1)
	var once atomic.Bool
	return func() {
		if once.Swap(true) {
			return
		}
		p.running.Add(-1)
		<-p.slots
		p.unreserve(bytes)
		if p.admitted.Add(-1) == 0 && p.idle != nil {
			p.idle()
		}
	}, nil
}

func (p *Pool) reserve(ctx context.Context, bytes int64) error {
	if bytes == 0 {
		return nil
	}
	if err := p.memory.Acquire(ctx, bytes); err != nil {
		return err
	}
	p.reserved.Add(bytes)
	return nil
}

func (p *Pool) unreserve(bytes int64) {
	if bytes == 0 {
		return
	}
	p.reserved.Add(-bytes)
	p.memory.Release(bytes)
}

// Full reports whether the pool and its queue are full now, so that a
// caller can refuse work before the cost of planning it (an Acquire would
// return ErrQueueFull). Acquire still decides: Full is a hint.
func (p *Pool) Full() bool { return p.admitted.Load() >= p.capacity }

// Budget is the memory budget in bytes; 0 when there is none.
func (p *Pool) Budget() int64 { return p.budget }

// Reserved is the bytes admitted work holds against the budget: running,
// or past its memory wait and waiting for a worker.
func (p *Pool) Reserved() int64 { return p.reserved.Load() }

// Running is the number of transforms holding a worker.
func (p *Pool) Running() int { return int(p.running.Load()) }

// Waiting is the number of admitted requests waiting for a worker.
func (p *Pool) Waiting() int { return int(p.admitted.Load() - p.running.Load()) }

// Collectors are the pool's metrics, for the composition root's registry.
func (p *Pool) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pictor_workers_running",
			Help: "Transforms holding a worker.",
		}, func() float64 { return float64(p.Running()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pictor_workers_waiting",
			Help: "Admitted transforms waiting for a worker.",
		}, func() float64 { return float64(p.Waiting()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pictor_memory_budget_bytes",
			Help: "Memory the running transforms' estimates may add up to (PICTOR_MEMORY_BUDGET).",
		}, func() float64 { return float64(p.budget) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pictor_memory_reserved_bytes",
			Help: "Estimated peak memory of the admitted transforms holding the budget.",
		}, func() float64 { return float64(p.Reserved()) }),
	}
}
