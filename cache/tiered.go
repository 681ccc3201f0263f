package cache

import (
	"errors"
	"sync"
	"sync/atomic"
)

// Level names the tier that answered a lookup.
type Level uint8

const (
	LevelMemory Level = iota + 1
	LevelDisk
)

func (l Level) String() string {
	switch l {
	case LevelMemory:
		return "memory"
	case LevelDisk:
		return "disk"
	}
	return "miss"
}

// Hit is a lookup's answer. Path is set only for a disk hit looked up with
// locate: the file's path relative to the disk tier's directory, for the
// server to hand to Nginx, and Entry then carries headers but no Body.
type Hit struct {
	Entry *Entry
	Level Level
	Path  string
}

// DiskTier is what Tiered needs of the disk tier (Disk implements it).
type DiskTier interface {
	Tier
	Locate(vkey string) (rel string, meta *Entry, ok bool)
}

// TieredConfig holds the settings of the tiered cache.
type TieredConfig struct {
	// WriteQueue is how many disk writes and promotions may wait for the
	// background writer; past it they are dropped, since a variant can be
	// made again and a request must never wait on the disk. Default 256.
	WriteQueue int
}

// DefaultTieredConfig returns the defaults listed on TieredConfig.
func DefaultTieredConfig() TieredConfig { return TieredConfig{WriteQueue: 256} }

// Validate reports whether c can be used by NewTiered.
func (c TieredConfig) Validate() error {
	if c.WriteQueue < 1 {
		return errors.New("cache: TieredConfig.WriteQueue must be at least 1")
	}
	return nil
}

// Tiered is the variant cache the server uses: the memory tier in front of
// the disk tier. A lookup tries memory, then disk, and promotes a disk hit
// to memory. A Set goes into memory at once and to disk through a bounded
// background writer. Purge removes an original's variants from both.
//
// A render that read an original before it was deleted may finish after
// the delete; its variant must not be stored. So a render notes Epoch()
// before it reads the original and stores with SetSince, which drops the
// variant when its original was purged after that epoch.
type Tiered struct {
	mem  *Memory
	disk DiskTier // nil: memory only

	jobs chan tieredJob
	wg   sync.WaitGroup // the writer
	busy sync.WaitGroup // queued jobs not yet done, for the tests' Wait

	mu     sync.RWMutex // held shared across a Set, exclusively by Purge
	epoch  uint64       // Purge calls so far
	purges purgeMarks
	closed bool

	dropped  atomic.Uint64
	promoted atomic.Uint64
}

type tieredJob struct {
	orig, vkey string
	e          *Entry // nil: promote vkey from disk to memory
	since      uint64
}

// NewTiered builds the tiered cache over mem and disk (nil for none) and
// starts its writer. Close stops it.
func NewTiered(cfg TieredConfig, mem *Memory, disk DiskTier) (*Tiered, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if mem == nil {
		return nil, errors.New("cache: NewTiered needs a memory tier (it may be disabled)")
	}
	t := &Tiered{mem: mem, disk: disk, purges: newPurgeMarks(maxPurgeMarks)}
	if disk != nil {
		t.jobs = make(chan tieredJob, cfg.WriteQueue)
		t.wg.Add(1)
		go t.writer()
	}
	return t, nil
}

var _ Tier = (*Tiered)(nil)

// Lookup finds the variant vkey of the original orig. With locate, a disk
// hit is answered with its path and headers instead of its bytes (Nginx
// sends the file), and promotion to memory happens in the background.
func (t *Tiered) Lookup(orig, vkey string, locate bool) (Hit, bool) {
	if e, ok := t.mem.Get(vkey); ok {
		return Hit{Entry: e, Level: LevelMemory}, true
	}
	if t.disk == nil {
		return Hit{}, false
	}
	if locate {
		rel, meta, ok := t.disk.Locate(vkey)
		if !ok {
			return Hit{}, false
		}
		if t.mem.Enabled() {
			t.enqueue(tieredJob{orig: orig, vkey: vkey, since: noCheck})
		}
		return Hit{Entry: meta, Level: LevelDisk, Path: rel}, true
	}
	e, ok := t.disk.Get(vkey)
	if !ok {
		return Hit{}, false
	}
	if orig != "" {
		t.setMemory(orig, vkey, e, noCheck)
		t.promoted.Add(1)
	}
	return Hit{Entry: e, Level: LevelDisk}, true
}

// Get implements Tier. It does not promote, since it does not know the
// original; the server uses Lookup.
func (t *Tiered) Get(vkey string) (*Entry, bool) {
	h, ok := t.Lookup("", vkey, false)
	return h.Entry, ok
}

// noCheck is the epoch that no purge is after: Set and promotions use it.
const noCheck = ^uint64(0)

// Epoch is a render's starting point for SetSince.
func (t *Tiered) Epoch() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.epoch
}

// Set stores e in memory now and queues it for the disk tier. It reports
// whether the memory tier took it (or, with memory off, the disk write was
// queued).
func (t *Tiered) Set(orig, vkey string, e *Entry) bool {
	return t.SetSince(orig, vkey, e, noCheck)
}

// SetSince is Set for a variant rendered from orig as it was at epoch
// (from Epoch): when orig has been purged since, e is dropped.
func (t *Tiered) SetSince(orig, vkey string, e *Entry, epoch uint64) bool {
	if e == nil {
		return false
	}
	ok := t.setMemory(orig, vkey, e, epoch)
	if t.disk != nil && t.enqueue(tieredJob{orig: orig, vkey: vkey, e: e, since: epoch}) && !t.mem.Enabled() {
		ok = true
	}
	return ok
}

// stale reports whether orig was purged after epoch; t.mu is held.
func (t *Tiered) stale(orig string, epoch uint64) bool {
	return epoch != noCheck && t.purges.after(orig, epoch)
}

func (t *Tiered) setMemory(orig, vkey string, e *Entry, epoch uint64) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed || t.stale(orig, epoch) {
		return false
	}
	return t.mem.Set(orig, vkey, e)
}

// enqueue hands a job to the writer without waiting; a full queue drops it.
func (t *Tiered) enqueue(j tieredJob) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed || t.jobs == nil || t.stale(j.orig, j.since) {
		return false
	}
	t.busy.Add(1)
	select {
	case t.jobs <- j:
		return true
	default:
		t.busy.Done()
		t.dropped.Add(1)
		return false
	}
}

func (t *Tiered) writer() {
	defer t.wg.Done()
	for j := range t.jobs {
		t.run(j)
		t.busy.Done()
	}
}

func (t *Tiered) run(j tieredJob) {
	if j.e == nil { // promotion
		if _, ok := t.mem.Get(j.vkey); ok || j.orig == "" {
			return
		}
		if e, ok := t.disk.Get(j.vkey); ok {
			t.setMemory(j.orig, j.vkey, e, noCheck)
			t.promoted.Add(1)
		}
		return
	}
	// Shared lock across the check and the write: Purge waits for a write
	// in progress, and a write after Purge sees the mark.
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.stale(j.orig, j.since) {
		return
	}
	t.disk.Set(j.orig, j.vkey, j.e)
}

// Purge removes every variant of orig from both tiers; variants rendered
// from orig before now are refused by SetSince from here on.
func (t *Tiered) Purge(orig string) {
	t.mu.Lock()
	t.epoch++
	t.purges.mark(orig, t.epoch)
	t.mu.Unlock()
	t.mem.Purge(orig)
	if t.disk != nil {
		t.disk.Purge(orig)
	}
}

// TieredStats are the tiered cache's own counters.
type TieredStats struct {
	Dropped  uint64 // disk writes and promotions dropped on a full queue
	Promoted uint64 // disk hits copied into memory
	Queued   int    // jobs waiting for the writer now
}

// Stats returns the counters.
func (t *Tiered) Stats() TieredStats {
	return TieredStats{Dropped: t.dropped.Load(), Promoted: t.promoted.Load(), Queued: len(t.jobs)}
}

// Close finishes the queued disk writes and stops the writer. The tiers
// themselves are closed by their owner.
func (t *Tiered) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	if t.jobs != nil {
		close(t.jobs)
	}
	t.mu.Unlock()
	t.wg.Wait()
}
