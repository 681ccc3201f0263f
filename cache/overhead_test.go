package cache

import (
	"runtime"
	"strconv"
	"testing"
)

// TestEntryOverhead measures the heap an entry costs beyond its body and
// checks that entryOverhead does not undercount it. The per-entry figure
// swings with where ristretto's hash maps are in their growth cycle (just
// after a doubling each entry carries more empty slots), so it is measured
// at a few sizes, including ones just past a doubling.
func TestEntryOverhead(t *testing.T) {
	for _, n := range []int{20_000, 33_000, 65_000} {
		keys := make([]string, n)
		bodies := make([][]byte, n)
		for i := range keys {
			keys[i] = "variant-" + strconv.Itoa(i)
			bodies[i] = []byte{byte(i)}
		}
		m, err := NewMemory(MemoryConfig{MaxBytes: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		// Bodies and keys exist before the first reading, so the difference
		// is the entries, their headers and ristretto's bookkeeping.
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range keys {
			for !m.Set("orig-"+strconv.Itoa(i%500), keys[i], NewEntry(bodies[i], "image/webp", 1, 1)) {
				m.Wait() // the insert buffer was full; let it drain
			}
		}
		m.Wait()
		runtime.GC()
		runtime.ReadMemStats(&after)
		if added := m.c.Metrics.KeysAdded(); added != uint64(n) {
			t.Fatalf("n=%d: KeysAdded = %d, want all admitted", n, added)
		}
		per := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)
		t.Logf("n=%d: heap per entry beyond its body: %.0f bytes (entryOverhead %d)", n, per, entryOverhead)
		if per > entryOverhead {
			t.Errorf("n=%d: an entry costs %.0f bytes of heap beyond its body, entryOverhead is %d", n, per, entryOverhead)
		}
		runtime.KeepAlive(keys)
		runtime.KeepAlive(bodies)
		m.Close()
	}
}
