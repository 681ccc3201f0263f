package cache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// suiteBudget is the least budget a tier under the conformance suite must
// have: the suite stores at most a few MiB at once and expects none of it
// to be evicted, so admission and eviction never decide an outcome.
const suiteBudget = 64 << 20

// tierImpls are the implementations the conformance suite runs against.
// Each constructor returns an empty tier with a budget of at least
// suiteBudget, closed when the test ends.
var tierImpls = []struct {
	name    string
	newTier func(t *testing.T) Tier
}{
	{"Memory", func(t *testing.T) Tier { return newTestMemory(t, suiteBudget) }},
	{"Disk", func(t *testing.T) Tier { return newTestDisk(t, DiskConfig{MaxBytes: suiteBudget}) }},
	{"Tiered", func(t *testing.T) Tier {
		return newTestTiered(t, newTestMemory(t, suiteBudget), newTestDisk(t, DiskConfig{MaxBytes: suiteBudget}))
	}},
	// Memory off: every hit comes from disk.
	{"Tiered/disk-only", func(t *testing.T) Tier {
		return newTestTiered(t, newTestMemory(t, 0), newTestDisk(t, DiskConfig{MaxBytes: suiteBudget}))
	}},
}

func TestTierConformance(t *testing.T) {
	for _, impl := range tierImpls {
		t.Run(impl.name, func(t *testing.T) { testTier(t, impl.newTier) })
	}
}

// suiteOrig and suiteVkey make keys in the forms the tiers accept: an
// original key as the store names it and a variant key as
// transform.VariantKey makes it.
func suiteOrig(i int) string { return fmt.Sprintf("%064x.jpg", i+1) }
func suiteVkey(i int) string { return fmt.Sprintf("%032x", i+1) }

// suiteEntry makes a distinct entry for (i, version): its bytes, content
// type and size all depend on both.
func suiteEntry(i, version, size int) *Entry {
	body := make([]byte, size)
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i))
	binary.LittleEndian.PutUint64(seed[8:], uint64(version))
	_, _ = rand.NewChaCha8(seed).Read(body)
	types := []string{"image/jpeg", "image/png", "image/webp", "image/avif", "image/gif"}
	return NewEntry(body, types[(i+version)%len(types)], 100+i, 50+version)
}

// checkEntry fails unless got carries exactly want's bytes and headers.
func checkEntry(t *testing.T, what string, got, want *Entry) {
	t.Helper()
	if !bytes.Equal(got.Body, want.Body) {
		t.Errorf("%s: Body differs (%d bytes, want %d)", what, len(got.Body), len(want.Body))
	}
	if got.ContentType != want.ContentType || got.ETag != want.ETag || got.Digest != want.Digest ||
		got.Width != want.Width || got.Height != want.Height {
		t.Errorf("%s = {%s %s %s %dx%d}, want {%s %s %s %dx%d}", what,
			got.ContentType, got.ETag, got.Digest, got.Width, got.Height,
			want.ContentType, want.ETag, want.Digest, want.Width, want.Height)
	}
}

// checkConsistent fails unless e's headers are the ones NewEntry computes
// from its bytes: what a tier returns must never disagree with itself.
func checkConsistent(t *testing.T, what string, e *Entry) {
	t.Helper()
	want := NewEntry(e.Body, e.ContentType, e.Width, e.Height)
	if e.ETag != want.ETag || e.Digest != want.Digest {
		t.Errorf("%s: ETag %s, Digest %s; the bytes give %s, %s", what, e.ETag, e.Digest, want.ETag, want.Digest)
	}
}

// testTier is the conformance suite every Tier passes.
func testTier(t *testing.T, newTier func(t *testing.T) Tier) {
	t.Run("RoundTrip", func(t *testing.T) {
		c := newTier(t)
		for i, size := range []int{0, 1, 4095, 4096, 4097, 100_000} {
			want := suiteEntry(i, 0, size)
			if !c.Set(suiteOrig(i), suiteVkey(i), want) {
				t.Fatalf("Set(%d bytes) = false on an empty tier", size)
			}
			settle(c)
			got, ok := c.Get(suiteVkey(i))
			if !ok {
				t.Fatalf("Get after Set of %d bytes missed", size)
			}
			checkEntry(t, fmt.Sprintf("Get of %d bytes", size), got, want)
			checkConsistent(t, fmt.Sprintf("Get of %d bytes", size), got)
		}
	})

	t.Run("Miss", func(t *testing.T) {
		c := newTier(t)
		if e, ok := c.Get(suiteVkey(0)); ok {
			t.Errorf("Get on an empty tier = %v, true; want a miss", e)
		}
		c.Set(suiteOrig(0), suiteVkey(0), suiteEntry(0, 0, 100))
		settle(c)
		if e, ok := c.Get(suiteVkey(1)); ok {
			t.Errorf("Get of a key never set = %v, true; want a miss", e)
		}
	})

	t.Run("Replace", func(t *testing.T) {
		c := newTier(t)
		v1, v2 := suiteEntry(0, 1, 3000), suiteEntry(0, 2, 5000)
		c.Set(suiteOrig(0), suiteVkey(0), v1)
		settle(c)
		if !c.Set(suiteOrig(0), suiteVkey(0), v2) {
			t.Fatal("Set of a replacement = false")
		}
		settle(c)
		got, ok := c.Get(suiteVkey(0))
		if !ok {
			t.Fatal("Get after replacing missed")
		}
		checkEntry(t, "Get after replacing", got, v2)
	})

	t.Run("PurgeOneOriginal", func(t *testing.T) {
		c := newTier(t)
		// Variants 0–2 come from original 0, 3–4 from original 1.
		origOf := func(v int) int { return v / 3 }
		want := make([]*Entry, 5)
		for v := range want {
			want[v] = suiteEntry(v, 0, 2000)
			if !c.Set(suiteOrig(origOf(v)), suiteVkey(v), want[v]) {
				t.Fatalf("Set(variant %d) = false", v)
			}
		}
		settle(c)
		c.Purge(suiteOrig(0))
		c.Purge(suiteOrig(7)) // never stored: nothing happens
		settle(c)
		for v := range want {
			got, ok := c.Get(suiteVkey(v))
			switch {
			case origOf(v) == 0 && ok:
				t.Errorf("Get(variant %d) hit after its original was purged", v)
			case origOf(v) == 1 && !ok:
				t.Errorf("Get(variant %d) missed after another original was purged", v)
			case ok:
				checkEntry(t, fmt.Sprintf("Get(variant %d)", v), got, want[v])
			}
		}
		// A purged original can have variants again.
		c.Set(suiteOrig(0), suiteVkey(0), want[0])
		settle(c)
		if _, ok := c.Get(suiteVkey(0)); !ok {
			t.Error("Get after setting a variant of a purged original again missed")
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		c := newTier(t)
		// Each goroutine sets and gets variants it shares with the others,
		// in versions; a hit must be some version of that variant, whole.
		const goroutines, variants, versions, rounds = 8, 16, 3, 100
		all := make([][]*Entry, variants)
		for v := range all {
			for ver := range versions {
				all[v] = append(all[v], suiteEntry(v, ver, 500+1000*v+ver))
			}
		}
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(g), 0))
				for range rounds {
					v := r.IntN(variants)
					if r.IntN(2) == 0 {
						c.Set(suiteOrig(v%4), suiteVkey(v), all[v][r.IntN(versions)])
						continue
					}
					got, ok := c.Get(suiteVkey(v))
					if !ok {
						continue
					}
					matched := false
					for _, want := range all[v] {
						matched = matched || bytes.Equal(got.Body, want.Body) && got.ETag == want.ETag &&
							got.Digest == want.Digest && got.ContentType == want.ContentType &&
							got.Width == want.Width && got.Height == want.Height
					}
					if !matched {
						t.Errorf("Get(variant %d) returned an entry that was never set (%d bytes)", v, len(got.Body))
					}
				}
			})
		}
		wg.Wait()
		settle(c)
		// Once the writers are done, a fresh Set wins.
		for v := range variants {
			c.Set(suiteOrig(v%4), suiteVkey(v), all[v][0])
		}
		settle(c)
		for v := range variants {
			if got, ok := c.Get(suiteVkey(v)); !ok {
				t.Errorf("Get(variant %d) after the final Set missed", v)
			} else {
				checkEntry(t, fmt.Sprintf("Get(variant %d) after the final Set", v), got, all[v][0])
			}
		}
	})

	t.Run("ManyWithinBudget", func(t *testing.T) {
		c := newTier(t)
		// 1000 entries of up to 8 KiB: under a quarter of suiteBudget even
		// when each is charged per-entry overhead or a whole disk block.
		const n = 1000
		want := make([]*Entry, n)
		for i := range want {
			want[i] = suiteEntry(i, 0, 1+i*8)
			c.Set(suiteOrig(i%50), suiteVkey(i), want[i])
		}
		settle(c)
		for i := range want {
			got, ok := c.Get(suiteVkey(i))
			if !ok {
				t.Errorf("Get(%d of %d) missed within the budget", i, n)
				continue
			}
			checkEntry(t, fmt.Sprintf("Get(%d)", i), got, want[i])
		}
	})
}
