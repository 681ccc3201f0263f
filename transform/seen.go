package transform

import "sync"

// seenKeys is how many originals the decode doorkeeper remembers. An
// original asked for again within the last 4096 distinct decodes gets its
// decode kept; at 64 bytes a key that is about 0.5 MiB.
const seenKeys = 4096

// recent is a bounded set of keys, oldest forgotten first: the doorkeeper
// in front of the decoded-original cache (the same idea as TinyLFU's
// doorkeeper in front of ristretto). The zero value is ready.
type recent struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string // insertion order, for forgetting
	next int
}

// check reports whether key was seen before, and remembers it.
func (r *recent) check(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[key]; ok {
		return true
	}
	if r.set == nil {
		r.set = make(map[string]struct{}, seenKeys)
		r.ring = make([]string, seenKeys)
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = key
	r.next = (r.next + 1) % seenKeys
	r.set[key] = struct{}{}
	return false
}
