package cache

import (
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/pictorhq/pictor/internal/keys"
)

// Disk is the disk tier: files under a directory within a byte budget,
// indexed in memory by a golang-lru/v2 list in least-recently-used order
// and evicted from its cold end. It is safe for concurrent use.
//
// Set writes synchronously (the tiered cache calls it from a background
// writer); the file is complete before it is visible, and the tier never
// holds more than its budget: the entries that make room are removed
// before the new file is renamed into place. Files being written, at most
// one per concurrent Set, are not charged.
//
// Every Get reads and hashes the file, so a damaged file is found, removed
// and counted, never served. Locate, which leaves the read to Nginx,
// checks a file the first time it would hand it out in this process;
// files this process wrote are known good.
//
// The index is rebuilt at start-up from directory listings only: the name
// gives the size to charge, and the check waits for the first read. The
// scan also removes temporary files left by a crash, names the tier does
// not make, duplicates and empty directories, and evicts down to the
// budget if it shrank. NewDisk returns when the scan is done or after
// DiskConfig.ScanTimeout, whichever is first; in the second case the scan
// goes on in the background, one group directory at a time under the
// lock: until it ends, entries it has not reached miss (a Set of one
// replaces the old file), and the disk may hold more than the budget by
// the files not yet reached, since they are charged only when indexed.
// Recency is not kept across restarts: scanned entries enter the list in
// directory order.
//
// Every change to the tree under Dir, temporary files aside, is made
// holding mu, so the index and the files agree exactly: Purge racing with
// Set leaves either both the file and its entry or neither.
type Disk struct {
	cfg DiskConfig
	log *slog.Logger
	tmp string // cfg.Dir/diskTmpDir

	mu     sync.Mutex
	lru    *simplelru.LRU[string, *diskItem] // nil when the tier is disabled
	used   int64                             // charged bytes of indexed files
	closed bool

	hits, misses, evictions, corrupt atomic.Uint64
	writes, writeErrors, declined    atomic.Uint64

	tmpSeq    atomic.Uint64 // names temporary files
	fullUntil atomic.Int64  // UnixNano; writes are paused until then
	failing   atomic.Bool   // a write failure was logged since the last success
	scanning  atomic.Bool
	scanDone  chan struct{} // closed when the start-up scan ends

	// Replaced by tests: the clock of the full-disk cooldown, and the
	// write of a temporary file, to fail it.
	now       func() time.Time
	writeBody func(f *os.File, body []byte) error
}

var _ Tier = (*Disk)(nil)

// NewDisk opens the disk tier in cfg.Dir, creating the directory if
// needed, and rebuilds its index from the files there (see
// DiskConfig.ScanTimeout). With cfg.MaxBytes == 0 it returns a disabled
// tier and leaves the directory alone. log receives the tier's rare
// events (scan summary, full disk, damaged files); nil discards them.
func NewDisk(cfg DiskConfig, log *slog.Logger) (*Disk, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Disk{
		cfg:       cfg,
		log:       log,
		scanDone:  make(chan struct{}),
		now:       time.Now,
		writeBody: writeAll,
	}
	if cfg.MaxBytes == 0 {
		close(d.scanDone)
		return d, nil
	}
	d.cfg.Dir = filepath.Clean(cfg.Dir)
	d.tmp = filepath.Join(d.cfg.Dir, diskTmpDir)
	// The size argument only caps the entry count; the budget is in bytes.
	d.lru, _ = simplelru.NewLRU[string, *diskItem](math.MaxInt, nil)

	if err := d.startScan(); err != nil {
		return nil, err
	}
	return d, nil
}

// Get returns the variant stored under vkey, read from its file and checked
// against the digest and size in its name. A file that fails the check is
// removed and counted as corrupt, and Get misses.
func (d *Disk) Get(vkey string) (*Entry, bool) {
	it, ok := d.lookup(vkey)
	if !ok {
		d.misses.Add(1)
		return nil, false
	}
	body, ok := d.readChecked(vkey, it)
	if !ok {
		d.misses.Add(1)
		return nil, false
	}
	d.hits.Add(1)
	return newEntrySum(body, it.format.ContentType(), int(it.w), int(it.h), it.sum), true
}

// Locate returns where the variant stored under vkey lies, as a path
// relative to Dir with '/' separators, and its headers: meta is the Entry
// that NewEntry would build for the file's bytes, with a nil Body. The
// first time a file that this process did not write is located, it is
// read and checked like Get does; one that fails is removed and Locate
// misses. Nginx may still find the file gone if it is evicted or purged
// between Locate and Nginx opening it.
func (d *Disk) Locate(vkey string) (rel string, meta *Entry, ok bool) {
	it, ok := d.lookup(vkey)
	if ok && !it.verified.Load() {
		_, ok = d.readChecked(vkey, it)
	}
	if !ok {
		d.misses.Add(1)
		return "", nil, false
	}
	d.hits.Add(1)
	rel = string(it.appendRel(make([]byte, 0, 192), vkey))
	return rel, newEntrySum(nil, it.format.ContentType(), int(it.w), int(it.h), it.sum), true
}

// lookup finds vkey's index entry and marks it most recently used.
func (d *Disk) lookup(vkey string) (*diskItem, bool) {
	if d.lru == nil {
		return nil, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, false
	}
	return d.lru.Get(vkey)
}

// readChecked reads it's file and reports whether its length and SHA-256
// match the name. A file that does not, or has gone, is dropped from the
// index and counted as corrupt, unless a concurrent Set, Purge or eviction
// has already replaced or removed it.
func (d *Disk) readChecked(vkey string, it *diskItem) ([]byte, bool) {
	b := append(make([]byte, 0, len(d.cfg.Dir)+192), d.cfg.Dir...)
	path := string(it.appendRel(append(b, '/'), vkey))
	body, err := readExact(path, it.size)
	if err == nil {
		if sha256.Sum256(body) == it.sum {
			it.verified.Store(true)
			return body, true
		}
		err = errDiskDigest
	}
	if d.drop(vkey, it) {
		d.corrupt.Add(1)
		d.log.Warn("disk cache: removed a damaged entry", "path", path, "err", err)
	}
	return nil, false
}

var (
	errDiskDigest = errors.New("cache: disk entry does not match the digest in its name")
	errDiskSize   = errors.New("cache: disk entry does not have the size in its name")
)

// readExact reads the file at path, which must hold exactly size bytes.
func readExact(path string, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	body := make([]byte, size)
	if _, err := io.ReadFull(f, body); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = errDiskSize
		}
		return nil, err
	}
	var more [1]byte
	if n, _ := f.Read(more[:]); n != 0 {
		return nil, errDiskSize
	}
	return body, nil
}

// drop removes vkey's entry and file if the index still holds it, and
// reports whether it did.
func (d *Disk) drop(vkey string, it *diskItem) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur, ok := d.lru.Peek(vkey); !ok || cur != it {
		return false
	}
	d.lru.Remove(vkey)
	d.used -= it.charge()
	d.removeFile(vkey, it)
	return true
}

// Set writes e under vkey in the group of orig and reports whether it was
// stored. It declines, returning false, when the tier is disabled or
// closed, for keys that are not an original key and a 32-hex variant key,
// a content type without an extension in diskFormats, an entry larger than
// the whole budget, during a full-disk cooldown, and when the write fails.
func (d *Disk) Set(orig, vkey string, e *Entry) bool {
	if d.lru == nil || e == nil {
		return false
	}
	it, ok := newDiskItem(orig, vkey, e)
	if !ok || it.charge() > d.cfg.MaxBytes || d.paused() {
		d.declined.Add(1)
		return false
	}
	if d.holds(vkey, it) {
		return true
	}
	tmp, err := d.writeTemp(vkey, e.Body)
	if err != nil {
		d.writeFailed(err)
		return false
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = os.Remove(tmp)
		return false
	}
	old, replacing := d.lru.Peek(vkey)
	if replacing {
		d.lru.Remove(vkey)
		d.used -= old.charge()
		if !old.sameFile(it) { // else the rename below replaces it in one step
			d.removeFile(vkey, old)
		}
	}
	d.evictToFit(it.charge())
	rel := it.appendRel(nil, vkey)
	dir := filepath.Join(d.cfg.Dir, orig[:2], orig)
	err = os.MkdirAll(dir, diskDirMode)
	if err == nil {
		err = os.Rename(tmp, filepath.Join(d.cfg.Dir, string(rel)))
	}
	if err != nil {
		_ = os.Remove(tmp)
		if replacing && old.sameFile(it) { // the old file is still there
			d.lru.Add(vkey, old)
			d.used += old.charge()
		}
		d.writeFailed(err)
		return false
	}
	it.verified.Store(true)
	d.lru.Add(strings.Clone(vkey), it)
	d.used += it.charge()
	d.writes.Add(1)
	if d.failing.Swap(false) {
		d.log.Info("disk cache: writes succeed again", "dir", d.cfg.Dir)
	}
	return true
}

// holds reports whether the file it names is already indexed under vkey
// and known good, and if so marks it used: writing the same bytes again
// would only cost I/O. A file not yet checked is rewritten, in case it is
// damaged.
func (d *Disk) holds(vkey string, it *diskItem) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, ok := d.lru.Peek(vkey)
	if !ok || d.closed || !cur.verified.Load() || !cur.sameFile(it) {
		return false
	}
	d.lru.Get(vkey)
	return true
}

// writeTemp writes body to a new file under the temporary directory and
// returns its path.
func (d *Disk) writeTemp(vkey string, body []byte) (string, error) {
	path := filepath.Join(d.tmp, vkey+"."+strconv.FormatUint(d.tmpSeq.Add(1), 36))
	const flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	f, err := os.OpenFile(path, flags, diskFileMode)
	if errors.Is(err, fs.ErrNotExist) {
		// Someone emptied the cache directory under the running tier.
		if err = os.MkdirAll(d.tmp, diskDirMode); err == nil {
			f, err = os.OpenFile(path, flags, diskFileMode)
		}
	}
	if err != nil {
		return "", err
	}
	err = d.writeBody(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", err
	}
	return path, nil
}

func writeAll(f *os.File, body []byte) error {
	_, err := f.Write(body)
	return err
}

// paused reports whether writes are in a full-disk cooldown.
func (d *Disk) paused() bool {
	until := d.fullUntil.Load()
	return until != 0 && d.now().UnixNano() < until
}

// writeFailed counts a failed write and logs the first of a run of
// failures. A full file system starts a cooldown.
func (d *Disk) writeFailed(err error) {
	d.writeErrors.Add(1)
	full := errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
	if full {
		d.fullUntil.Store(d.now().Add(d.cfg.FullCooldown).UnixNano())
	}
	if d.failing.Swap(true) {
		return
	}
	if full {
		d.log.Warn("disk cache: file system full; writes paused", "dir", d.cfg.Dir,
			"cooldown", d.cfg.FullCooldown, "err", err)
		return
	}
	d.log.Warn("disk cache: write failed; further failures go unlogged until one succeeds",
		"dir", d.cfg.Dir, "err", err)
}

// evictToFit removes least recently used entries until extra more bytes
// fit within the budget. The caller holds mu.
func (d *Disk) evictToFit(extra int64) {
	for d.used+extra > d.cfg.MaxBytes {
		vkey, it, ok := d.lru.RemoveOldest()
		if !ok {
			return
		}
		d.used -= it.charge()
		d.removeFile(vkey, it)
		d.evictions.Add(1)
	}
}

// removeFile deletes an entry's file, and its group directory if that
// leaves it empty. The caller holds mu and has taken the entry out of the
// index.
func (d *Disk) removeFile(vkey string, it *diskItem) {
	path := string(it.appendRel(append([]byte(d.cfg.Dir), '/'), vkey))
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("disk cache: cannot remove", "path", path, "err", err)
	}
	_ = os.Remove(filepath.Dir(path)) // only if empty
}

// Purge removes every variant of the original orig: its group directory
// and the index entries of the files in it. It removes what is stored when
// it runs: a Set of the same original that is still writing finishes
// after it and stores its variant, so a caller deleting the original must
// stop such writes from being issued (or Purge again once they are done).
func (d *Disk) Purge(orig string) {
	if d.lru == nil || !keys.Valid(orig) {
		return
	}
	dir := filepath.Join(d.cfg.Dir, orig[:2], orig)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	files, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	for _, f := range files {
		if _, vkey, ok := parseDiskName(f.Name()); ok {
			if cur, ok := d.lru.Peek(vkey); ok && cur.orig == orig {
				d.lru.Remove(vkey)
				d.used -= cur.charge()
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		d.log.Warn("disk cache: cannot purge", "path", dir, "err", err)
	}
}

// DiskStats are the tier's counters since it was opened, and its size.
type DiskStats struct {
	Hits, Misses uint64
	Evictions    uint64 // entries removed to stay within the budget
	Corrupt      uint64 // entries found damaged or missing, removed and not served
	Writes       uint64 // entries written
	WriteErrors  uint64 // writes that failed, full disk included
	Declined     uint64 // Sets refused without writing (see Set)
	Bytes        int64  // charged size of the entries: file sizes rounded up to 4 KiB
	Entries      int
	Scanning     bool // the start-up scan is still indexing existing files
}

// Stats returns the tier's counters; all zero for a disabled tier.
func (d *Disk) Stats() DiskStats {
	if d.lru == nil {
		return DiskStats{}
	}
	d.mu.Lock()
	n, used := d.lru.Len(), d.used
	d.mu.Unlock()
	return DiskStats{
		Hits:        d.hits.Load(),
		Misses:      d.misses.Load(),
		Evictions:   d.evictions.Load(),
		Corrupt:     d.corrupt.Load(),
		Writes:      d.writes.Load(),
		WriteErrors: d.writeErrors.Load(),
		Declined:    d.declined.Load(),
		Bytes:       used,
		Entries:     n,
		Scanning:    d.scanning.Load(),
	}
}

// Close stops a scan still running in the background and waits for it.
// Get and Locate miss and Set declines afterwards; the files stay for the
// next NewDisk on the same directory.
func (d *Disk) Close() {
	if d.lru == nil {
		return
	}
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	<-d.scanDone
}

func (d *Disk) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}
