package store

import (
	"container/list"
	"errors"
	"io/fs"
	"slices"
	"sync"
	"time"
)

// copies is the byte-bounded index of the local copies an S3 store keeps
// of its originals, least recently used at the back. The files themselves
// are FS originals, named and laid out as FS names them; copies only
// decides which go when their total passes the budget.
//
// Removing a file that is mapped or open is safe: the mapping or the
// descriptor keeps its bytes until closed, and the next request fetches
// the original again.
type copies struct {
	fs  *FS
	max int64

	mu   sync.Mutex
	used int64
	lru  *list.List               // of *copyEntry, most recent at the front
	byID map[string]*list.Element // key → element of lru
}

type copyEntry struct {
	key  string
	size int64
}

func newCopies(fsys *FS, max int64) *copies {
	return &copies{fs: fsys, max: max, lru: list.New(), byID: map[string]*list.Element{}}
}

// touch records a use of key's copy of size bytes, adding it when it is
// not indexed yet (placed by an upload, or found by the start-up scan),
// and removes the least recently used others while over budget.
func (c *copies) touch(key string, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[key]; ok {
		c.lru.MoveToFront(el)
		return
	}
	c.byID[key] = c.lru.PushFront(&copyEntry{key: key, size: size})
	c.used += size
	// The newest copy stays even when it alone is over budget: the request
	// that fetched it is about to read it.
	for c.used > c.max && c.lru.Len() > 1 {
		c.dropLocked(c.lru.Back())
	}
}

// remove forgets key's copy and deletes its file.
func (c *copies) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[key]; ok {
		c.dropLocked(el)
		return
	}
	c.fs.Delete(key) // not indexed (a race with touch): the file may exist all the same
}

func (c *copies) dropLocked(el *list.Element) {
	e := c.lru.Remove(el).(*copyEntry)
	delete(c.byID, e.key)
	c.used -= e.size
	c.fs.Delete(e.key) // best effort: an error leaves a file the next scan finds
}

// bytes is the total size of the indexed copies.
func (c *copies) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// scan indexes the copies already on disk, from an earlier run, oldest
// modification first so that the most recent end up most recently used,
// then trims them to the budget. Only complete copies can be found: a
// copy is named only after its bytes are synced and verified.
func (c *copies) scan() error {
	var found []scanned
	err := fs.WalkDir(c.fs.root.FS(), originalsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() || !ValidKey(d.Name()) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		found = append(found, scanned{d.Name(), info.Size(), info.ModTime()})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(found, func(a, b scanned) int { return a.mod.Compare(b.mod) })
	for _, f := range found {
		c.touch(f.key, f.size)
	}
	return nil
}

type scanned struct {
	key  string
	size int64
	mod  time.Time
}
