package server

import (
	"sync"
	"time"
)

// recent is the playground's list of the originals this process stored
// last, newest first, bounded to maxRecent. It is kept in memory rather
// than listed from the store because neither store can answer "newest
// first" cheaply: keys are content hashes, so an S3 listing comes back in
// hash order and finding the newest means listing the whole bucket (a
// paid LIST per 1000 keys), and the file store would walk and stat every
// shard. What it costs: a restart starts an empty list, and with several
// sidecars each lists only the uploads it took (docs/operations.md).
type recent struct {
	mu    sync.Mutex
	items []recentItem // oldest first; appended at the end
	seq   uint64
}

// maxRecent bounds the list: a few pages of thumbnails, a few hundred KB.
const maxRecent = 1000

type recentItem struct {
	Seq     uint64    `json:"seq"`
	Key     string    `json:"key"`
	Format  string    `json:"format"`
	Width   int       `json:"width"`
	Height  int       `json:"height"`
	Bytes   int64     `json:"bytes"`
	Created time.Time `json:"created"`
}

// add puts key first, moving it when it is already listed (the same bytes
// uploaded again).
func (r *recent) add(it recentItem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removeLocked(it.Key)
	r.seq++
	it.Seq = r.seq
	if len(r.items) == maxRecent {
		r.items = append(r.items[:0], r.items[1:]...)
	}
	r.items = append(r.items, it)
}

func (r *recent) remove(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removeLocked(key)
}

func (r *recent) removeLocked(key string) {
	for i := range r.items {
		if r.items[i].Key == key {
			r.items = append(r.items[:i], r.items[i+1:]...)
			return
		}
	}
}

// page returns up to limit items older than the cursor before (0: from
// the newest), newest first, and the cursor of the next page (0: none).
// A cursor is a sequence number, so uploads between two pages neither
// repeat nor skip an item.
func (r *recent) page(before uint64, limit int) ([]recentItem, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []recentItem{}
	i := len(r.items) - 1
	for ; i >= 0 && before != 0 && r.items[i].Seq >= before; i-- {
	}
	for ; i >= 0 && len(out) < limit; i-- {
		out = append(out, r.items[i])
	}
	if i >= 0 && len(out) > 0 {
		return out, out[len(out)-1].Seq
	}
	return out, 0
}
