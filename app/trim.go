package app

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pictorhq/pictor/transform/vips"
	"github.com/pictorhq/pictor/transform/workers"
)

// trimDelay is how long the worker pool must stay idle before freed C heap
// goes back to the system: long enough that a steady stream of requests
// never pays for it, short enough that a burst's memory does not linger.
const trimDelay = 250 * time.Millisecond

// trimmer hands libvips' freed pixel buffers back to the operating system
// (vips.ReleaseMemory, glibc's malloc_trim) once the pool has been idle for
// trimDelay. glibc otherwise keeps the pages of a burst of large images in
// its arenas, and the sidecar's RSS stays at the burst's peak.
type trimmer struct {
	pool  *workers.Pool
	mu    sync.Mutex
	timer *time.Timer
	trims atomic.Int64 // pictor_heap_trims_total
}

func newTrimmer(pool *workers.Pool) *trimmer {
	t := &trimmer{pool: pool}
	pool.OnIdle(t.idle)
	return t
}

// idle is the pool's OnIdle: (re)arm the timer.
func (t *trimmer) idle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer == nil {
		t.timer = time.AfterFunc(trimDelay, t.fire)
		return
	}
	t.timer.Reset(trimDelay)
}

func (t *trimmer) fire() {
	if t.pool.Running()+t.pool.Waiting() > 0 {
		return // busy again: the next idle re-arms
	}
	vips.ReleaseMemory()
	t.trims.Add(1)
}

// stop cancels a pending trim.
func (t *trimmer) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
	}
}
