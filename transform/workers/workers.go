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
)

// ErrQueueFull is returned by Acquire when the pool and its queue are full.
var ErrQueueFull = errors.New("workers: queue full")

// Config sizes the pool.
type Config struct {
	// Workers is how many transforms run at once. Default: GOMAXPROCS,
	// because a transform is CPU-bound and libvips runs one thread per image.
	Workers int
	// Queue is how many admitted requests may wait for a worker. Default:
	// 16 per worker, about a second and a half of cold transforms.
	Queue int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	n := runtime.GOMAXPROCS(0)
	return Config{Workers: n, Queue: 16 * n}
}

// Validate reports a setting out of range.
func (c Config) Validate() error {
	if c.Workers < 1 {
		return fmt.Errorf("workers: Workers = %d, want >= 1", c.Workers)
	}
	if c.Queue < 0 {
		return fmt.Errorf("workers: Queue = %d, want >= 0", c.Queue)
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
}

// OnIdle sets f to be called, on the releasing goroutine, each time the last
// admitted transform releases its worker. Set it before the first Acquire.
func (p *Pool) OnIdle(f func()) { p.idle = f }

// New returns a pool for cfg.
func New(cfg Config) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Pool{
		slots:    make(chan struct{}, cfg.Workers),
		capacity: int64(cfg.Workers + cfg.Queue),
	}, nil
}

// Acquire admits the caller without blocking, or returns ErrQueueFull, then
// waits for a free worker until ctx is done. On success the caller must call
// release exactly once.
func (p *Pool) Acquire(ctx context.Context) (release func(), err error) {
	if p.admitted.Add(1) > p.capacity {
		p.admitted.Add(-1)
		return nil, ErrQueueFull
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
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
		if p.admitted.Add(-1) == 0 && p.idle != nil {
			p.idle()
		}
	}, nil
}

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
	}
}
