package cache

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func newTestTiered(t testing.TB, mem *Memory, disk *Disk) *Tiered {
	t.Helper()
	var dt DiskTier
	if disk != nil {
		dt = disk
	}
	// A queue long enough that the conformance suite's bursts of Sets are
	// not dropped; dropping on a full queue has its own test.
	tc, err := NewTiered(TieredConfig{WriteQueue: 4096}, mem, dt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return tc
}

func TestTieredFallsThroughAndPromotes(t *testing.T) {
	mem := newTestMemory(t, 64<<20)
	disk := newTestDisk(t, DiskConfig{MaxBytes: 64 << 20})
	tc := newTestTiered(t, mem, disk)
	orig, vkey := suiteOrig(1), suiteVkey(1)
	e := suiteEntry(1, 0, 5000)
	if !tc.Set(orig, vkey, e) {
		t.Fatal("Set = false")
	}
	tc.Wait()
	if h, ok := tc.Lookup(orig, vkey, false); !ok || h.Level != LevelMemory {
		t.Fatalf("Lookup after Set = %+v, %v; want a memory hit", h, ok)
	}
	if _, ok := disk.Get(vkey); !ok {
		t.Fatal("the background writer did not store the entry on disk")
	}

	// Memory loses it: the lookup falls through to disk and promotes.
	mem.Del(vkey)
	mem.Wait()
	h, ok := tc.Lookup(orig, vkey, false)
	if !ok || h.Level != LevelDisk || h.Path != "" {
		t.Fatalf("Lookup with memory emptied = %+v, %v; want a disk hit with bytes", h, ok)
	}
	checkEntry(t, "disk hit", h.Entry, e)
	tc.Wait()
	if h, ok := tc.Lookup(orig, vkey, false); !ok || h.Level != LevelMemory {
		t.Errorf("Lookup after a disk hit = %+v, %v; want it promoted to memory", h, ok)
	}
	if st := tc.Stats(); st.Promoted != 1 {
		t.Errorf("Stats().Promoted = %d, want 1", st.Promoted)
	}

	// Behind Nginx: a disk hit is located, not read, and promoted in the
	// background.
	mem.Del(vkey)
	mem.Wait()
	h, ok = tc.Lookup(orig, vkey, true)
	if !ok || h.Level != LevelDisk || h.Path == "" || h.Entry.Body != nil {
		t.Fatalf("Lookup(locate) = %+v, %v; want a disk hit with a path and no body", h, ok)
	}
	if h.Entry.ETag != e.ETag || h.Entry.Digest != e.Digest || h.Entry.ContentType != e.ContentType {
		t.Errorf("located headers %q %q %q, want %q %q %q", h.Entry.ETag, h.Entry.Digest, h.Entry.ContentType, e.ETag, e.Digest, e.ContentType)
	}
	b, err := os.ReadFile(filepath.Join(disk.cfg.Dir, filepath.FromSlash(h.Path)))
	if err != nil || string(b) != string(e.Body) {
		t.Errorf("the located file %s does not hold the variant's bytes (%v)", h.Path, err)
	}
	tc.Wait()
	if h, ok := tc.Lookup(orig, vkey, true); !ok || h.Level != LevelMemory {
		t.Errorf("Lookup(locate) after the background promotion = %+v, %v; want memory", h, ok)
	}
}

func TestTieredPurgeBlocksLateWrites(t *testing.T) {
	mem := newTestMemory(t, 64<<20)
	disk := newTestDisk(t, DiskConfig{MaxBytes: 64 << 20})
	tc := newTestTiered(t, mem, disk)
	a, b := suiteOrig(1), suiteOrig(2)
	for i := range 20 {
		orig := a
		if i%2 == 1 {
			orig = b
		}
		tc.Set(orig, suiteVkey(i), suiteEntry(i, 0, 2000))
	}
	tc.Wait()
	epoch := tc.Epoch() // a render of a starts
	tc.Purge(a)
	// The render finishes after the delete.
	if tc.SetSince(a, suiteVkey(100), suiteEntry(100, 0, 2000), epoch) {
		t.Error("SetSince for an original purged since = true")
	}
	tc.Wait()
	for i := range 20 {
		_, ok := tc.Get(suiteVkey(i))
		if want := i%2 == 1; ok != want {
			t.Errorf("after Purge(a), variant %d found = %v, want %v", i, ok, want)
		}
	}
	if _, ok := tc.Get(suiteVkey(100)); ok {
		t.Error("a variant set after its original was purged is served")
	}
	if _, ok := disk.Get(suiteVkey(100)); ok {
		t.Error("a variant set after its original was purged reached the disk")
	}
	// A render that starts after the delete (say, after a new upload of
	// the same bytes) is stored as usual.
	if !tc.SetSince(a, suiteVkey(101), suiteEntry(101, 0, 2000), tc.Epoch()) {
		t.Error("SetSince from an epoch after the Purge = false")
	}
}

func TestTieredPurgeRacesWrites(t *testing.T) {
	// Whatever the interleaving, once Purge and the writes have finished
	// nothing of the purged original is left in either tier.
	for round := range 20 {
		mem := newTestMemory(t, 64<<20)
		disk := newTestDisk(t, DiskConfig{MaxBytes: 64 << 20})
		tc := newTestTiered(t, mem, disk)
		orig := suiteOrig(round)
		var wg sync.WaitGroup
		epoch := tc.Epoch()
		wg.Go(func() {
			for i := range 30 {
				tc.SetSince(orig, suiteVkey(i), suiteEntry(i, round, 1500), epoch)
			}
		})
		wg.Go(func() { tc.Purge(orig) })
		wg.Wait()
		tc.Wait()
		for i := range 30 {
			if _, ok := tc.Get(suiteVkey(i)); ok {
				t.Fatalf("round %d: variant %d of a purged original is still served", round, i)
			}
		}
		if st := disk.Stats(); st.Entries != 0 {
			t.Fatalf("round %d: %d entries left on disk after Purge", round, st.Entries)
		}
	}
}

// blockingDisk is a disk tier whose writes wait until released.
type blockingDisk struct {
	*Disk
	release chan struct{}
}

func (b blockingDisk) Set(orig, vkey string, e *Entry) bool {
	<-b.release
	return b.Disk.Set(orig, vkey, e)
}

func TestTieredQueueFullDrops(t *testing.T) {
	mem := newTestMemory(t, 0)
	disk := blockingDisk{newTestDisk(t, DiskConfig{MaxBytes: 64 << 20}), make(chan struct{})}
	tc, err := NewTiered(TieredConfig{WriteQueue: 1}, mem, disk)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	// The writer takes the first write and blocks in it; one more fits in
	// the queue; the rest are dropped at once rather than waited for.
	for i := range 10 {
		tc.Set(suiteOrig(1), suiteVkey(i), suiteEntry(i, 0, 100))
	}
	if st := tc.Stats(); st.Dropped < 8 {
		t.Errorf("Stats().Dropped = %d after 10 writes into a queue of 1 behind a blocked writer, want >= 8", st.Dropped)
	}
	close(disk.release)
	tc.Wait()
	if st := disk.Stats(); st.Entries < 1 || st.Entries > 2 {
		t.Errorf("%d entries reached the disk, want the 1 or 2 that were queued", st.Entries)
	}
	if _, err := NewTiered(TieredConfig{WriteQueue: 0}, mem, nil); err == nil {
		t.Error("NewTiered(WriteQueue 0) = nil error")
	}
	if _, err := NewTiered(DefaultTieredConfig(), nil, nil); err == nil {
		t.Error("NewTiered(nil memory) = nil error")
	}
}

// Each DELETE leaves a purge mark; the marks are bounded, and a render
// older than every remembered mark is refused rather than risk storing a
// variant of a deleted original.
func TestTieredPurgeMarksBounded(t *testing.T) {
	mem := newTestMemory(t, 64<<20)
	tc := newTestTiered(t, mem, nil)
	old := tc.Epoch()
	for i := range 3 * maxPurgeMarks {
		tc.Purge(suiteOrig(i))
	}
	tc.mu.RLock()
	n := tc.purges.len()
	tc.mu.RUnlock()
	if n > maxPurgeMarks {
		t.Errorf("%d purge marks after %d purges, want at most %d", n, 3*maxPurgeMarks, maxPurgeMarks)
	}
	// A render from before the forgotten purges: refused.
	if tc.SetSince(suiteOrig(1), suiteVkey(1), suiteEntry(1, 0, 100), old) {
		t.Error("SetSince with an epoch older than every remembered purge = true, want false")
	}
	// A render from before the last purge of its original: refused.
	last := 3*maxPurgeMarks - 1
	if tc.SetSince(suiteOrig(last), suiteVkey(2), suiteEntry(2, 0, 100), tc.Epoch()-1) {
		t.Error("SetSince of a variant purged since = true, want false")
	}
	// A render from now: stored.
	if !tc.SetSince(suiteOrig(1), suiteVkey(3), suiteEntry(3, 0, 100), tc.Epoch()) {
		t.Error("SetSince from the current epoch = false, want true")
	}
}
