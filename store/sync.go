package store

import (
	"context"
	"path"
	"time"

	"github.com/minio/minio-go/v7"
)

// StartSync starts the loop that makes a DELETE through any sidecar reach
// this one: every S3Config.SyncInterval it lists the bucket's tombstones
// and, for each one it has not seen (or that was written again since),
// removes the local copy and calls purge(key), which drops the variants
// and the decode. The first pass, right away, purges every tombstoned key,
// so a sidecar that was down during a delete catches up when it starts.
// Close stops the loop. Call StartSync at most once.
//
// Tombstones are empty objects under <prefix>tombstones/, written by
// Delete and removed when the same bytes are uploaded again; the bucket
// itself is the only channel, no other server is involved.
func (s *S3) StartSync(purge func(key string)) {
	started := false
	s.syncOnce.Do(func() { started = true })
	if !started {
		return
	}
	go func() {
		defer close(s.stopped)
		t := time.NewTicker(s.cfg.SyncInterval)
		defer t.Stop()
		for {
			s.SyncNow(purge)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// SyncNow runs one pass of the sync loop (see StartSync) and returns how
// many keys it purged. An unreachable store is logged and the pass ends;
// the next one tries again.
func (s *S3) SyncNow(purge func(key string)) int {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), max(s.cfg.Timeout, s.cfg.SyncInterval))
	defer cancel()
	listed := make(map[string]time.Time, len(s.seen))
	for obj := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.prefix + tombstoneDir, Recursive: true}) {
		if obj.Err != nil {
			s.log.Warn("listing tombstones", "err", s.remote("list", obj.Err))
			return 0 // keep what was seen: nothing is purged twice for a failed pass
		}
		key := path.Base(obj.Key)
		if ValidKey(key) {
			listed[key] = obj.LastModified
		}
	}
	n := 0
	for key, mod := range listed {
		if seen, ok := s.seen[key]; ok && seen.Equal(mod) {
			continue
		}
		s.copies.remove(key)
		if purge != nil {
			purge(key)
		}
		n++
	}
	s.purged.Add(int64(n))
	// Tombstones removed by a re-upload are forgotten, so that the next
	// delete of those bytes purges again.
	s.seen = listed
	return n
}
