package workers

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestAdmission(t *testing.T) {
	p, err := New(Config{Workers: 2, Queue: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r1, err := p.Acquire(ctx, 1)
	if err != nil {
		t.Fatalf("first Acquire: %v", err)
	}
	r2, err := p.Acquire(ctx, 1)
	if err != nil {
		t.Fatalf("second Acquire: %v", err)
	}
	if got := p.Running(); got != 2 {
		t.Fatalf("Running() = %d, want 2", got)
	}

	// The third waits in the queue until a worker frees up.
	got := make(chan error, 1)
	go func() {
		r, err := p.Acquire(ctx, 1)
		if err == nil {
			r()
		}
		got <- err
	}()
	waitFor(t, func() bool { return p.Waiting() == 1 })

	// The fourth finds workers and queue full and is refused at once.
	if !p.Full() {
		t.Fatal("Full() = false with 2 running and 1 waiting of 2 + 1")
	}
	if _, err := p.Acquire(ctx, 1); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("fourth Acquire = %v, want ErrQueueFull", err)
	}

	r1()
	r1() // a second release is a no-op
	if err := <-got; err != nil {
		t.Fatalf("queued Acquire = %v, want nil", err)
	}
	if p.Full() {
		t.Error("Full() = true after a release")
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
	r, err := p.Acquire(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire with expiring ctx = %v, want DeadlineExceeded", err)
	}
	if got := p.Waiting(); got != 0 {
		t.Fatalf("Waiting() after cancel = %d, want 0", got)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{Workers: 0}, {Workers: 1, Queue: -1}, {Workers: 1, MemoryBudget: -1}} {
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
	r1, err := p.Acquire(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		r2, err := p.Acquire(context.Background(), 1)
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

// TestMemoryAdmission: work runs only while the estimates of what holds
// the budget add up to at most MemoryBudget, whatever workers are free;
// the next in line waits, and later work that would fit does not overtake
// it.
func TestMemoryAdmission(t *testing.T) {
	p, err := New(Config{Workers: 4, Queue: 4, MemoryBudget: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r60, err := p.Acquire(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Reserved(); got != 60 {
		t.Fatalf("Reserved() = %d, want 60", got)
	}
	done := make(chan int, 2)
	acquire := func(n int64) {
		r, err := p.Acquire(ctx, n)
		if err != nil {
			t.Error(err)
			done <- 0
			return
		}
		done <- int(n)
		r()
	}
	go acquire(50) // does not fit beside 60
	waitFor(t, func() bool { return p.Waiting() == 1 })
	go acquire(30) // would fit beside 60, but came after 50
	waitFor(t, func() bool { return p.Waiting() == 2 })
	time.Sleep(20 * time.Millisecond)
	if p.Running() != 1 || p.Reserved() != 60 {
		t.Fatalf("with 60 of 100 held and 50 then 30 waiting: running %d, reserved %d; want 1 and 60 (no overtaking)", p.Running(), p.Reserved())
	}
	r60()
	if a, b := <-done, <-done; a+b != 80 {
		t.Fatalf("after the release, ran %d and %d, want 50 and 30", a, b)
	}
	waitFor(t, func() bool { return p.Reserved() == 0 && p.Waiting() == 0 })
}

// TestMemoryTooLarge: work that could never fit is refused at once, with
// the figures, and takes nothing from the pool.
func TestMemoryTooLarge(t *testing.T) {
	p, err := New(Config{Workers: 1, Queue: 1, MemoryBudget: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Acquire(context.Background(), 65<<20)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Need != 65<<20 || tl.Budget != 64<<20 {
		t.Fatalf("Acquire(65 MiB) with a 64 MiB budget = %v, want *TooLargeError{65 MiB, 64 MiB}", err)
	}
	if msg := err.Error(); msg != "transform needs about 65 MiB, over the memory budget of 64 MiB (PICTOR_MEMORY_BUDGET)" {
		t.Errorf("message = %q", msg)
	}
	if p.Waiting() != 0 || p.Reserved() != 0 {
		t.Fatalf("a refused Acquire left waiting %d reserved %d", p.Waiting(), p.Reserved())
	}
}

// TestMemoryWaitCancelled: work whose deadline passes while it waits for
// memory gives back its place and reserves nothing.
func TestMemoryWaitCancelled(t *testing.T) {
	p, err := New(Config{Workers: 2, Queue: 2, MemoryBudget: 100})
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Acquire(context.Background(), 80)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx, 30); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire(30) beside 80 of 100 = %v, want DeadlineExceeded", err)
	}
	if p.Waiting() != 0 || p.Reserved() != 80 {
		t.Fatalf("after the timeout: waiting %d reserved %d, want 0 and 80", p.Waiting(), p.Reserved())
	}
	r()
	r2, err := p.Acquire(context.Background(), 100)
	if err != nil {
		t.Fatalf("Acquire(100) on an empty pool: %v", err)
	}
	r2()
}

func TestMachineMemory(t *testing.T) {
	dir := t.TempDir()
	mi := dir + "/meminfo"
	if err := os.WriteFile(mi, []byte("MemFree:  100 kB\nMemTotal:       24609412 kB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := meminfoTotal(mi); got != 24609412<<10 {
		t.Errorf("meminfoTotal = %d, want %d", got, int64(24609412)<<10)
	}
	for content, want := range map[string]int64{"max\n": 0, "536870912\n": 512 << 20, "garbage": 0} {
		f := dir + "/limit"
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := cgroupLimit(f); got != want {
			t.Errorf("cgroupLimit(%q) = %d, want %d", content, got, want)
		}
	}
	self := dir + "/cgroup"
	if err := os.WriteFile(self, []byte("12:pids:/x\n4:cpu,memory:/pictor-test\n0::/svc/pictor\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := cgroupLimitFiles(self, "/sys/fs/cgroup")
	want := []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
		"/sys/fs/cgroup/memory/pictor-test/memory.limit_in_bytes", "/sys/fs/cgroup/svc/pictor/memory.max"}
	if !slices.Equal(got, want) {
		t.Errorf("cgroupLimitFiles = %q, want %q", got, want)
	}
	if got := MachineMemory(); got < 64<<20 {
		t.Errorf("MachineMemory() = %d, implausibly small", got)
	}
}
