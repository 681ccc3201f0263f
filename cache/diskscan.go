package cache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pictorhq/pictor/internal/keys"
)

// startScan sets aside the temporary files an earlier run left and starts
// rebuilding the index from the listing of Dir: NewDisk waits for it up to
// ScanTimeout, then it goes on in the background.
func (d *Disk) startScan() error {
	if err := os.MkdirAll(d.cfg.Dir, diskDirMode); err != nil {
		return err
	}
	stale := filepath.Join(d.cfg.Dir, diskStalePrefix+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Rename(d.tmp, stale); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Mkdir(d.tmp, diskDirMode); err != nil {
		return err
	}
	top, err := os.ReadDir(d.cfg.Dir)
	if err != nil {
		return err
	}

	s := &diskScan{d: d, top: top, start: time.Now()}
	d.scanning.Store(true)
	if s.run(s.start.Add(d.cfg.ScanTimeout)) {
		s.finish(false)
		return nil
	}
	go func() {
		s.run(time.Time{})
		s.finish(true)
	}()
	return nil
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
	if !g.IsDir() || !keys.Valid(orig) || orig[:2] != s.shard {
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
