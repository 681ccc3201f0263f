package ingest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

// Item is one source image.
type Item struct {
	// Name is its path in the directory, or s3://bucket/object.
	Name     string
	Size     int64
	Modified time.Time
	// Open returns its bytes.
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Source lists the images to bring in.
type Source interface {
	Items(ctx context.Context) ([]Item, error)
}

// Entry is one line of the manifest.
type Entry struct {
	Source   string    `json:"source"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	// Key is the stored original's key; empty on error.
	Key string `json:"key,omitempty"`
	// Status is "created" (new in the store), "exists" (the store had
	// those bytes), "skipped" (an earlier run stored this source) or
	// "error".
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Config holds an import's settings.
type Config struct {
	// MaxBytes is the largest image taken (PICTOR_MAX_UPLOAD_BYTES).
	MaxBytes int64
	// Jobs is how many images are brought in at once. Default 4.
	Jobs int
}

// Deps is what an import uses.
type Deps struct {
	Store store.Store
	// Probe reads an image file's header and checks the pixel limit:
	// transform.Processor.ProbeFile.
	Probe func(path string) (vips.Header, error)
}

// Stats sums up an import.
type Stats struct {
	Files, Created, Exists, Skipped, Errors atomic.Int64
	Bytes                                   atomic.Int64 // read from the source
}

// Progress is called after each item with the stats so far and the total.
type Progress func(st *Stats, total int)

// Run brings src's items into d.Store, appending one Entry per item to
// manifest (JSON lines). done holds the entries of earlier runs, by
// source: an item stored before with the same size and time is skipped
// unread. Run returns the stats; items that fail are in the manifest, not
// in the error, which is for the source or the manifest failing.
func Run(ctx context.Context, cfg Config, d Deps, src Source, done map[string]Entry, manifest io.Writer, progress Progress) (*Stats, error) {
	items, err := src.Items(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Jobs < 1 {
		cfg.Jobs = 4
	}
	st := &Stats{}
	var (
		mu   sync.Mutex
		werr error
		enc  = json.NewEncoder(manifest)
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range cfg.Jobs {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) || ctx.Err() != nil {
					return
				}
				e := one(ctx, cfg, d, items[i], done, st)
				mu.Lock()
				if err := enc.Encode(e); err != nil && werr == nil {
					werr = fmt.Errorf("ingest: writing the manifest: %w", err)
				}
				if progress != nil {
					progress(st, len(items))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if werr == nil {
		werr = ctx.Err()
	}
	return st, werr
}

// one brings in one item.
func one(ctx context.Context, cfg Config, d Deps, it Item, done map[string]Entry, st *Stats) Entry {
	st.Files.Add(1)
	e := Entry{Source: it.Name, Size: it.Size, Modified: it.Modified.UTC()}
	if prev, ok := done[it.Name]; ok && prev.Key != "" && prev.Size == it.Size && prev.Modified.Equal(e.Modified) {
		if ok, err := d.Store.Exists(prev.Key); err == nil && ok {
			st.Skipped.Add(1)
			e.Key, e.Status = prev.Key, "skipped"
			return e
		}
	}
	obj, err := store1(ctx, cfg, d, it, st)
	switch {
	case err != nil:
		st.Errors.Add(1)
		e.Status, e.Error = "error", describe(err)
	case obj.Created:
		st.Created.Add(1)
		e.Key, e.Status = obj.Key, "created"
	default:
		st.Exists.Add(1)
		e.Key, e.Status = obj.Key, "exists"
	}
	return e
}

// store1 streams it into an upload and checks it as POST /upload does.
func store1(ctx context.Context, cfg Config, d Deps, it Item, st *Stats) (store.Object, error) {
	if cfg.MaxBytes > 0 && it.Size > cfg.MaxBytes {
		return store.Object{}, store.ErrTooLarge
	}
	r, err := it.Open(ctx)
	if err != nil {
		return store.Object{}, err
	}
	defer r.Close()
	up, err := d.Store.NewUpload(cfg.MaxBytes)
	if err != nil {
		return store.Object{}, err
	}
	defer up.Abort()
	n, err := up.ReadFrom(r)
	st.Bytes.Add(n)
	if err != nil {
		return store.Object{}, err
	}
	sniffed, err := format.Sniff(up.Head())
	if err != nil {
		if errors.Is(err, format.ErrShort) {
			err = format.ErrUnsupported
		}
		return store.Object{}, err
	}
	h, err := d.Probe(up.TempPath())
	if err != nil {
		return store.Object{}, err
	}
	if h.Format != sniffed {
		return store.Object{}, errFormatMismatch
	}
	return up.Commit(sniffed.Ext())
}

var errFormatMismatch = errors.New("ingest: the image's header does not match its magic bytes")

// describe is an error's text for the manifest, in the terms an upload's
// answer would use.
func describe(err error) string {
	switch {
	case errors.Is(err, store.ErrTooLarge):
		return "over the size limit (PICTOR_MAX_UPLOAD_BYTES)"
	case errors.Is(err, format.ErrUnsupported):
		return "not an allowed image type (JPEG, PNG, WebP, GIF, AVIF)"
	}
	return err.Error()
}

// ReadManifest reads the entries of earlier runs from path, by source,
// keeping the last line for each. A missing file is an empty manifest.
func ReadManifest(path string) (map[string]Entry, error) {
	done := map[string]Entry{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Source != "" {
			done[e.Source] = e
		}
	}
	return done, sc.Err()
}
