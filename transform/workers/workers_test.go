package workers

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

func TestAdmission(t *testing.T) {
	p, err := New(Config{Workers: 2, Queue: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r1, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("first Acquire: %v", err)
	}
	r2, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("second Acquire: %v", err)
	}
	if got := p.Running(); got != 2 {
		t.Fatalf("Running() = %d, want 2", got)
	}

	// The third waits in the queue until a worker frees up.
	got := make(chan error, 1)
	go func() {
		r, err := p.Acquire(ctx)
		if err == nil {
			r()
		}
		got <- err
	}()
	waitFor(t, func() bool { return p.Waiting() == 1 })

	// The fourth finds workers and queue full and is refused at once.
	if _, err := p.Acquire(ctx); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("fourth Acquire = %v, want ErrQueueFull", err)
	}

	r1()
	r1() // a second release is a no-op
	if err := <-got; err != nil {
		t.Fatalf("queued Acquire = %v, want nil", err)
	}
	r2()
	if p.Running() != 0 || p.Waiting() != 0 {
		t.Fatalf("after release: running %d waiting %d, want 0 0", p.Running(), p.Waiting())
	}
}

func TestAcquireCancelled(t *testing.T) {
	p, err := New(Config{Workers: 1, Queue: 4})
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire with expiring ctx = %v, want DeadlineExceeded", err)
	}
	if got := p.Waiting(); got != 0 {
		t.Fatalf("Waiting() after cancel = %d, want 0", got)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{Workers: 0}, {Workers: 1, Queue: -1}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want error", c)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestOnIdle: the idle hook runs once each time the last admitted
// transform releases, not while another is still running or waiting.
func TestOnIdle(t *testing.T) {
	p, err := New(Config{Workers: 1, Queue: 1})
	if err != nil {
		t.Fatal(err)
	}
	idles := 0
	p.OnIdle(func() { idles++ })
	r1, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		r2, err := p.Acquire(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- r2
	}()
	for p.Waiting() != 1 {
		runtime.Gosched()
	}
	r1()
	r2 := <-got
	if idles != 0 {
		t.Fatalf("idle ran %d times with a transform still admitted", idles)
	}
	r2()
	r2() // a second release is a no-op
	if idles != 1 {
		t.Fatalf("idle ran %d times after the last release, want 1", idles)
	}
}
