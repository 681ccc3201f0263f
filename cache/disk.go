package cache

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
)

// On disk, each variant is one file whose bytes are exactly the variant,
// so that Nginx can send it with sendfile, and whose name carries
// everything else:
//
//	<Dir>/<orig[0:2]>/<orig>/<vkey>.<sha256 hex of the bytes>.<w>x<h>.<size>.<ext>
//
// Grouping by original makes Purge one directory removal; the two-character
// shard keeps any one directory small. The digest in the name lets every
// read be checked without a sidecar record, and the size lets the start-up
// scan charge each file against the budget from the directory listing
// alone. Files are written under diskTmpDir and renamed into place, so a
// name in a group directory always refers to a complete write.
const (
	// diskBlock is what a file is charged at least, and the unit its size
	// is rounded up to: the usual block size of ext4 and XFS, so that a
	// budget of small thumbnails bounds the space they really occupy, as
	// Nginx's proxy_cache max_size does. Directories are not charged.
	diskBlock = 4096

	// diskTmpDir holds files being written. At start-up an existing one is
	// renamed to diskStalePrefix+<time> (one rename, however many files a
	// crash left) and the scan removes it. The names are distinctive so
	// that a misconfigured Dir cannot make the tier move someone's "tmp".
	diskTmpDir      = ".pictor-tmp"
	diskStalePrefix = ".pictor-tmp-"

	diskDirMode = 0o755
	// diskFileMode lets Nginx, usually another user, read the files.
	diskFileMode = 0o644

	// maxDiskEntry bounds the size a file name may claim, so that a bogus
	// name cannot make Get allocate without limit. Variants are far
	// smaller: 50 MP at 4 bytes a pixel is 200 MB.
	maxDiskEntry = 1 << 30
	// maxDiskDim bounds a width or height in a file name: nine digits.
	maxDiskDim = 999_999_999
)

// diskFormats are the content types the tier stores and the extension
// each is named with. A variant of another type is declined.
var diskFormats = [...]struct{ ext, contentType string }{
	{"jpg", "image/jpeg"},
	{"png", "image/png"},
	{"webp", "image/webp"},
	{"avif", "image/avif"},
	{"gif", "image/gif"},
}

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

// diskItem is the index entry for one file: everything its name says, so
// that Locate answers without touching the disk.
type diskItem struct {
	orig     string
	sum      [sha256.Size]byte
	size     int64
	w, h     int32
	format   uint8 // index into diskFormats
	verified atomic.Bool
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

	if err := os.MkdirAll(d.cfg.Dir, diskDirMode); err != nil {
		return nil, err
	}
	stale := filepath.Join(d.cfg.Dir, diskStalePrefix+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Rename(d.tmp, stale); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.Mkdir(d.tmp, diskDirMode); err != nil {
		return nil, err
	}
	top, err := os.ReadDir(d.cfg.Dir)
	if err != nil {
		return nil, err
	}

	s := &diskScan{d: d, top: top, start: time.Now()}
	d.scanning.Store(true)
	if s.run(s.start.Add(cfg.ScanTimeout)) {
		s.finish(false)
		return d, nil
	}
	go func() {
		s.run(time.Time{})
		s.finish(true)
	}()
	return d, nil
}

// diskScan rebuilds the index one step at a time, a step being one
// top-level entry or one group directory, so that it can stop at a
// deadline between steps and go on in the background. Each group is
// indexed holding the tier's lock, so the scan and concurrent Sets and
// Purges see each other's changes whole.
type diskScan struct {
	d     *Disk
	start time.Time

	top []os.DirEntry // the entries of Dir
	ti  int           // the next one

	shard  string        // the shard directory being scanned, "" if none
	groups []os.DirEntry // its entries
	gi     int           // the next one

	entries, removed int
}

// run scans until done or, if deadline is not zero, until it passes, and
// reports whether it is done. It stops early, done, when the tier closes.
func (s *diskScan) run(deadline time.Time) bool {
	for s.step() {
		if !deadline.IsZero() && time.Now().After(deadline) {
			return false
		}
	}
	return true
}

func (s *diskScan) finish(background bool) {
	d := s.d
	d.scanning.Store(false)
	close(d.scanDone)
	d.mu.Lock()
	n, used := d.lru.Len(), d.used
	d.mu.Unlock()
	d.log.Info("disk cache: index rebuilt", "dir", d.cfg.Dir,
		"entries", n, "bytes", used, "scanned", s.entries, "removed", s.removed,
		"duration", time.Since(s.start), "background", background)
}

// step does one step of the scan and reports whether any remain.
func (s *diskScan) step() bool {
	d := s.d
	if d.isClosed() {
		return false
	}
	if s.shard != "" {
		if s.gi < len(s.groups) {
			g := s.groups[s.gi]
			s.gi++
			s.scanGroup(g)
			return true
		}
		d.mu.Lock()
		_ = os.Remove(filepath.Join(d.cfg.Dir, s.shard)) // only if empty
		d.mu.Unlock()
		s.shard, s.groups = "", nil
	}
	if s.ti >= len(s.top) {
		return false
	}
	e := s.top[s.ti]
	s.ti++
	name := e.Name()
	path := filepath.Join(d.cfg.Dir, name)
	switch {
	case name == diskTmpDir:
		// This run's; files appear in it as Sets write.
	case strings.HasPrefix(name, diskStalePrefix):
		// Temporary files of an earlier run, half-written or never
		// renamed: nothing else refers to them.
		if err := os.RemoveAll(path); err != nil {
			d.log.Warn("disk cache: cannot remove stale temporary files", "err", err)
		}
		s.removed++
	case isShard(name) && e.IsDir():
		groups, err := os.ReadDir(path)
		if err != nil {
			d.log.Warn("disk cache: cannot list shard; its files stay unindexed", "err", err)
			return true
		}
		s.shard, s.groups, s.gi = name, groups, 0
	default:
		// Not a name the tier makes. Left alone rather than removed, in
		// case Dir was pointed at a directory that holds something else.
		d.log.Warn("disk cache: leaving an unknown entry alone", "path", path)
	}
	return true
}

// scanGroup indexes the files of one group directory and removes what the
// tier cannot have made: names that do not parse, a vkey already indexed
// elsewhere, anything but regular files, a group in the wrong shard.
func (s *diskScan) scanGroup(g os.DirEntry) {
	d := s.d
	orig := g.Name() // one string shared by the group's entries
	dir := filepath.Join(d.cfg.Dir, s.shard, orig)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if !g.IsDir() || !validOrigKey(orig) || orig[:2] != s.shard {
		s.remove(dir)
		return
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) { // else purged since the shard was listed
			d.log.Warn("disk cache: cannot list group; its files stay unindexed", "err", err)
		}
		return
	}
	for _, f := range files {
		name := f.Name()
		it, vkey, ok := parseDiskName(name)
		if !ok || !f.Type().IsRegular() || it.charge() > d.cfg.MaxBytes {
			s.remove(filepath.Join(dir, name))
			continue
		}
		it.orig = orig
		if cur, dup := d.lru.Peek(vkey); dup {
			// Either a Set wrote this file since the scan started, or an
			// earlier run left two files for one key; keep the indexed one.
			if !cur.sameFile(it) {
				s.remove(filepath.Join(dir, name))
			}
			continue
		}
		d.lru.Add(strings.Clone(vkey), it) // the key must not pin the listing's name
		d.used += it.charge()
		s.entries++
		d.evictToFit(0) // the budget may have shrunk since the files were written
	}
	_ = os.Remove(dir) // only if empty
}

func (s *diskScan) remove(path string) {
	if err := os.RemoveAll(path); err != nil {
		s.d.log.Warn("disk cache: cannot remove", "path", path, "err", err)
	}
	s.removed++
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
	return newEntrySum(body, diskFormats[it.format].contentType, int(it.w), int(it.h), it.sum), true
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
	return rel, newEntrySum(nil, diskFormats[it.format].contentType, int(it.w), int(it.h), it.sum), true
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

// newDiskItem builds the index entry for e, or reports that the tier
// cannot store it.
func newDiskItem(orig, vkey string, e *Entry) (*diskItem, bool) {
	if !validOrigKey(orig) || !validVariantKey(vkey) ||
		e.Width < 0 || e.Width > maxDiskDim || e.Height < 0 || e.Height > maxDiskDim ||
		len(e.Body) > maxDiskEntry {
		return nil, false
	}
	it := &diskItem{orig: strings.Clone(orig), size: int64(len(e.Body)), w: int32(e.Width), h: int32(e.Height)}
	format, ok := -1, false
	for i, f := range diskFormats {
		if f.contentType == e.ContentType {
			format = i
		}
	}
	if format < 0 {
		return nil, false
	}
	it.format = uint8(format)
	// The digest is already in the entry; hash only if it is malformed.
	const prefix, suffix = "sha-256=:", ":"
	var sum [sha256.Size + 1]byte // DecodedLen of 44 characters is 33
	dg := e.Digest
	if len(dg) == len(prefix)+44+len(suffix) && strings.HasPrefix(dg, prefix) && strings.HasSuffix(dg, suffix) {
		n, err := base64.StdEncoding.Decode(sum[:], []byte(dg[len(prefix):len(dg)-len(suffix)]))
		ok = err == nil && n == sha256.Size
	}
	if ok {
		copy(it.sum[:], sum[:sha256.Size])
	} else {
		it.sum = sha256.Sum256(e.Body)
	}
	return it, true
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
	if d.lru == nil || !validOrigKey(orig) {
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

// Wait returns at once: Set has finished writing when it returns.
func (d *Disk) Wait() {}

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

// charge is what the entry costs against the budget: its size rounded up
// to whole blocks, at least one.
func (it *diskItem) charge() int64 {
	return max(diskBlock, (it.size+diskBlock-1)/diskBlock*diskBlock)
}

// sameFile reports whether it and o name the same file.
func (it *diskItem) sameFile(o *diskItem) bool {
	return it.orig == o.orig && it.sum == o.sum && it.size == o.size &&
		it.w == o.w && it.h == o.h && it.format == o.format
}

// appendRel appends the file's path relative to Dir.
func (it *diskItem) appendRel(b []byte, vkey string) []byte {
	b = append(b, it.orig[:2]...)
	b = append(b, '/')
	b = append(b, it.orig...)
	b = append(b, '/')
	return it.appendName(b, vkey)
}

// appendName appends the file's name:
// <vkey>.<sha256 hex>.<w>x<h>.<size>.<ext>.
func (it *diskItem) appendName(b []byte, vkey string) []byte {
	b = append(b, vkey...)
	b = append(b, '.')
	b = hex.AppendEncode(b, it.sum[:])
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(it.w), 10)
	b = append(b, 'x')
	b = strconv.AppendInt(b, int64(it.h), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, it.size, 10)
	b = append(b, '.')
	return append(b, diskFormats[it.format].ext...)
}

// parseDiskName parses a file name made by appendName. It accepts only
// the exact form appendName writes, so that one entry has one name.
func parseDiskName(name string) (it *diskItem, vkey string, ok bool) {
	vkey, rest, _ := strings.Cut(name, ".")
	sumHex, rest, _ := strings.Cut(rest, ".")
	dims, rest, _ := strings.Cut(rest, ".")
	size, ext, _ := strings.Cut(rest, ".")
	ws, hs, _ := strings.Cut(dims, "x")
	if !validVariantKey(vkey) || len(sumHex) != 2*sha256.Size || !isLowerHexString(sumHex) {
		return nil, "", false
	}
	it = &diskItem{}
	for i := range it.sum {
		it.sum[i] = unhex(sumHex[2*i])<<4 | unhex(sumHex[2*i+1])
	}
	w, okW := parseCanonical(ws, maxDiskDim)
	h, okH := parseCanonical(hs, maxDiskDim)
	n, okN := parseCanonical(size, maxDiskEntry)
	if !okW || !okH || !okN {
		return nil, "", false
	}
	it.w, it.h, it.size = int32(w), int32(h), n
	for i, f := range diskFormats {
		if f.ext == ext {
			it.format = uint8(i)
			return it, vkey, true
		}
	}
	return nil, "", false
}

// parseCanonical parses a decimal number in [0, limit] written without a
// sign or leading zeros.
func parseCanonical(s string, limit int64) (int64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n int64
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= limit
}

// validVariantKey reports whether vkey looks like transform.VariantKey's
// output: 32 lowercase hex digits. It is a single path element.
func validVariantKey(vkey string) bool {
	return len(vkey) == 32 && isLowerHexString(vkey)
}

// validOrigKey reports whether orig matches
// ^[0-9a-f]{32,64}\.(jpg|png|webp|gif|avif)$, the store's key grammar
// (store.ValidKey, not imported so that cache does not depend on store).
// Such a key is a single path element.
func validOrigKey(orig string) bool {
	digits, ext, ok := strings.Cut(orig, ".")
	if !ok || len(digits) < 32 || len(digits) > 64 || !isLowerHexString(digits) {
		return false
	}
	switch ext {
	case "jpg", "png", "webp", "gif", "avif":
		return true
	}
	return false
}

// isShard reports whether name is a shard directory's: two lowercase hex
// digits, the first two of the original keys in it.
func isShard(name string) bool {
	return len(name) == 2 && isLowerHexString(name)
}

// unhex decodes a digit that isLowerHexString accepted.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

func isLowerHexString(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
