package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGroupCollapses(t *testing.T) {
	var g Group[string, int]
	var runs atomic.Int32
	release := make(chan struct{})
	const n = 100
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(n)
	results := make([]int, n)
	shared := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			started.Done()
			v, err, sh := g.Do(context.Background(), "k", func() (int, error) {
				runs.Add(1)
				<-release
				return 42, nil
			})
			if err != nil {
				t.Errorf("Do = %v", err)
			}
			results[i], shared[i] = v, sh
		})
	}
	started.Wait()
	// Every caller has at least entered Do; give the last ones time to
	// join the call before it finishes.
	for deadline := time.Now().Add(5 * time.Second); ; {
		g.mu.Lock()
		c := g.calls["k"]
		joined := c != nil && c.waiters == n-1
		g.mu.Unlock()
		if joined || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if r := runs.Load(); r != 1 {
		t.Errorf("fn ran %d times for %d concurrent callers, want 1", r, n)
	}
	for i := range n {
		if results[i] != 42 || !shared[i] {
			t.Fatalf("caller %d got %d, shared %v; want 42, true", i, results[i], shared[i])
		}
	}
	if g.InFlight() != 0 {
		t.Errorf("InFlight = %d after all calls returned, want 0", g.InFlight())
	}
}

func TestGroupSequentialCallsRunAgain(t *testing.T) {
	var g Group[string, int]
	runs := 0
	for range 3 {
		v, err, shared := g.Do(context.Background(), "k", func() (int, error) { runs++; return runs, nil })
		if err != nil || shared || v != runs {
			t.Fatalf("Do = %d, %v, %v; want %d, nil, false", v, err, shared, runs)
		}
	}
	if runs != 3 {
		t.Errorf("fn ran %d times for 3 sequential calls, want 3", runs)
	}
}

func TestGroupErrorAndKeys(t *testing.T) {
	var g Group[string, int]
	boom := errors.New("boom")
	if _, err, _ := g.Do(context.Background(), "a", func() (int, error) { return 0, boom }); err != boom {
		t.Errorf("Do error = %v, want %v", err, boom)
	}
	// Different keys do not wait for each other.
	block := make(chan struct{})
	defer close(block)
	go g.Do(context.Background(), "slow", func() (int, error) { <-block; return 1, nil })
	done := make(chan struct{})
	go func() {
		g.Do(context.Background(), "fast", func() (int, error) { return 2, nil })
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal(`Do("fast") waited for Do("slow")`)
	}
}

func TestGroupCallerDeadline(t *testing.T) {
	var g Group[string, int]
	release := make(chan struct{})
	finished := make(chan int, 1)
	go func() {
		v, _, _ := g.Do(context.Background(), "k", func() (int, error) { <-release; return 7, nil })
		finished <- v
	}()
	for g.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err, _ := g.Do(ctx, "k", func() (int, error) { t.Error("a second fn ran"); return 0, nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do past its deadline = %v, want DeadlineExceeded", err)
	}
	close(release)
	if v := <-finished; v != 7 {
		t.Errorf("first caller got %d after the second gave up, want 7", v)
	}
}
