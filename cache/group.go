package cache

import (
	"context"
	"sync"
)

// Group collapses concurrent calls for the same key into one: the first
// caller's function runs, and every caller that arrives before it returns
// gets its result. It is what makes 100 identical concurrent requests for
// one variant cost one pipeline run.
type Group[K comparable, V any] struct {
	mu    sync.Mutex
	calls map[K]*call[V]
}

type call[V any] struct {
	done    chan struct{}
	v       V
	err     error
	waiters int // callers beyond the first
}

// Do runs fn once for all concurrent callers with key and returns its
// result. fn runs in a goroutine of its own and must bound its own time:
// a caller whose ctx ends stops waiting and gets ctx's error, while fn
// goes on for the others (and for a cache it may fill). shared reports
// whether the result went to more than one caller.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func() (V, error)) (v V, err error, shared bool) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[K]*call[V])
	}
	c, ok := g.calls[key]
	if ok {
		c.waiters++
	} else {
		c = &call[V]{done: make(chan struct{})}
		g.calls[key] = c
		go func() {
			c.v, c.err = fn()
			g.mu.Lock()
			delete(g.calls, key)
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()

	select {
	case <-c.done:
		g.mu.Lock()
		shared = c.waiters > 0
		g.mu.Unlock()
		return c.v, c.err, shared
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err(), ok
	}
}

// InFlight is the number of keys with a call running.
func (g *Group[K, V]) InFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// Callers is how many callers share the call running for key: 0 when none
// runs.
func (g *Group[K, V]) Callers(key K) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return 1 + c.waiters
	}
	return 0
}
