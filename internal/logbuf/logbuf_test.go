package logbuf

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is the destination; the flush loop writes from its own
// goroutine.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) snapshot() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.writes
}

func TestBatchesAndKeepsLinesWhole(t *testing.T) {
	var dst lockedBuffer
	w := New(&dst, 4096, time.Hour) // no interval flush during the test
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				fmt.Fprintf(w, "goroutine=%d line=%d %s\n", g, i, strings.Repeat("x", 40))
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, writes := dst.snapshot()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("got %d lines, want %d", len(lines), 8*500)
	}
	for _, l := range lines {
		var g, i int
		var pad string
		if n, err := fmt.Sscanf(l, "goroutine=%d line=%d %s", &g, &i, &pad); n != 3 || err != nil || len(pad) != 40 {
			t.Fatalf("torn line %q", l)
		}
	}
	// 4,000 lines of ~65 bytes in a 4 KiB buffer: about 64 writes, not 4,000.
	if writes > 100 {
		t.Errorf("%d writes for %d lines: not batched", writes, len(lines))
	}
}

func TestIntervalFlush(t *testing.T) {
	var dst lockedBuffer
	w := New(&dst, 1<<16, 20*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "one line")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if out, _ := dst.snapshot(); out == "one line\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the line was not flushed by the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLongLineAndWritesAfterClose(t *testing.T) {
	var dst lockedBuffer
	w := New(&dst, 64, time.Hour)
	fmt.Fprint(w, "short\n")
	long := strings.Repeat("y", 200) + "\n"
	fmt.Fprint(w, long)
	if out, _ := dst.snapshot(); out != "short\n"+long {
		t.Fatalf("a line over the buffer should go out at once, after what was buffered: %q", out)
	}
	w.Close()
	fmt.Fprint(w, "late\n")
	w.Close()
	if out, _ := dst.snapshot(); !strings.HasSuffix(out, "late\n") {
		t.Fatalf("a line written after Close was lost: %q", out)
	}
}

func BenchmarkWrite(b *testing.B) {
	f, err := os.Create(os.DevNull)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	line := []byte(strings.Repeat("z", 150) + "\n")
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.Write(line)
		}
	})
	b.Run("buffered", func(b *testing.B) {
		w := New(f, 64<<10, 100*time.Millisecond)
		defer w.Close()
		b.ReportAllocs()
		for b.Loop() {
			w.Write(line)
		}
	})
}
