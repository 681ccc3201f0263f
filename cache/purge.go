package cache

// maxPurgeMarks bounds the purges a Tiered remembers. A mark is needed only
// while a render that started before its purge may still finish; renders
// last a request deadline (10 s by default), and 4096 deletes in that time
// is far beyond any real workload. A render older than every remembered
// mark is refused outright, which costs at worst a render done again.
const maxPurgeMarks = 4096

// purgeMarks remembers the epoch of each original's latest purge, for the
// most recent purges only: a DELETE adds one mark, and the oldest goes
// when there are more than the bound, so memory stays bounded however many
// originals are deleted over a process's life.
type purgeMarks struct {
	at    map[string]uint64 // original -> epoch of its latest purge
	order []purgeMark       // ring of marks in epoch order, oldest at head
	head  int
	n     int
	// forgotten is the epoch of the newest mark dropped: a render that
	// started before it may have been overtaken by a purge no longer
	// remembered, so after treats it as stale.
	forgotten uint64
}

type purgeMark struct {
	orig  string
	epoch uint64
}

func newPurgeMarks(limit int) purgeMarks {
	return purgeMarks{at: make(map[string]uint64), order: make([]purgeMark, limit)}
}

// mark records that orig was purged at epoch, which is larger than every
// epoch marked before.
func (p *purgeMarks) mark(orig string, epoch uint64) {
	if p.n == len(p.order) {
		old := p.order[p.head]
		if p.at[old.orig] == old.epoch {
			delete(p.at, old.orig)
		}
		p.forgotten = old.epoch
		p.head = (p.head + 1) % len(p.order)
		p.n--
	}
	p.order[(p.head+p.n)%len(p.order)] = purgeMark{orig, epoch}
	p.n++
	p.at[orig] = epoch
}

// after reports whether orig may have been purged after epoch.
func (p *purgeMarks) after(orig string, epoch uint64) bool {
	if epoch < p.forgotten {
		return true
	}
	at, ok := p.at[orig]
	return ok && at > epoch
}

// len is the number of originals with a mark.
func (p *purgeMarks) len() int { return len(p.at) }
