package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// The peer kinds (distinct, widths) ask every target the same requests in
// the same order: a pool of variants made once per scenario. Each request
// takes the pool's next variant, so a run of at most len(pool) requests
// (ParseSpec bounds it so) asks for nothing twice, and no cache, of
// Pictor's or of Nginx's, can answer.

// peerPool is one peer scenario's variants, in the order they are asked
// for.
type peerPool struct {
	variants []Variant
	copies   *copySet // distinct: the originals behind variants; nil for widths
}

// copySet is n copies of one original, written as files under the corpus
// directory for peers (which read their originals from it) and uploaded
// to each Pictor target. Copy i is uniqueBytes(base, first+i): the same
// pixels, different bytes, so a content-addressed store keeps each.
type copySet struct {
	base     *File
	files    []*File
	first    uint64
	dir      string // the files' directory; "" until a peer needs them
	uploaded map[*Target]bool
}

// copiesDirPrefix starts the name of the directory a copySet is written
// to, under the corpus directory: LoadCorpus reads only the corpus's own
// files, never a directory, so a set left behind by a killed run is never
// taken for an original.
const copiesDirPrefix = "bench-distinct-"

// newCopySet names n copies of base, numbered from first, under the
// corpus directory corpus. Nothing is written yet.
func newCopySet(base *File, n int, first uint64, corpus string) *copySet {
	cs := &copySet{base: base, first: first, uploaded: map[*Target]bool{}}
	ext := filepath.Ext(base.Name)
	stem := strings.TrimSuffix(base.Name, ext)
	sub := fmt.Sprintf("%s%016x", copiesDirPrefix, first)
	for i := range n {
		name := fmt.Sprintf("%s/%s-%05d%s", sub, stem, i, ext)
		cs.files = append(cs.files, &File{
			Name: name, Path: filepath.Join(corpus, filepath.FromSlash(name)),
			Format: base.Format, Width: base.Width, Height: base.Height,
		})
	}
	return cs
}

// bytes appends copy i's bytes to dst.
func (cs *copySet) bytes(dst []byte, i int) []byte {
	return uniqueBytes(dst, cs.base, cs.first+uint64(i))
}

// setKey records copy i's Pictor key, from its bytes.
func (cs *copySet) setKey(i int, data []byte) {
	sum := sha256.Sum256(data)
	cs.files[i].Key = hex.EncodeToString(sum[:]) + "." + cs.base.Format.Ext()
}

// write writes every copy to its path, once.
func (cs *copySet) write() error {
	if cs.dir != "" {
		return nil
	}
	dir := filepath.Dir(cs.files[0].Path)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("harness: copies of %s: %w", cs.base.Name, err)
	}
	cs.dir = dir
	var buf []byte
	for i, f := range cs.files {
		buf = cs.bytes(buf[:0], i)
		cs.setKey(i, buf)
		if err := os.WriteFile(f.Path, buf, 0o644); err != nil {
			return fmt.Errorf("harness: copies of %s: %w", cs.base.Name, err)
		}
	}
	return nil
}

// upload stores every copy on the Pictor target t, once.
func (cs *copySet) upload(ctx context.Context, t *Target, p *Pictor, cfg Config) error {
	if cs.uploaded[t] {
		return nil
	}
	client := t.Client(cfg)
	defer client.CloseIdleConnections()
	var data, body []byte
	for i, f := range cs.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		data = cs.bytes(data[:0], i)
		cs.setKey(i, data)
		var err error
		if body, err = t.uploadOne(client, p, f, data, body); err != nil {
			return err
		}
	}
	cs.uploaded[t] = true
	return nil
}

// remove deletes the written copies.
func (cs *copySet) remove() error {
	if cs.dir == "" {
		return nil
	}
	err := os.RemoveAll(cs.dir)
	cs.dir = ""
	return err
}

// corpusFile is the corpus's original named name.
func (e *env) corpusFile(name string) (*File, error) {
	if strings.HasPrefix(name, generatedPrefix) {
		return generatedFile(name, e.corpus)
	}
	for _, f := range e.all {
		if f.Name == name {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%w: no %s in %s", ErrNoCorpus, name, e.corpus)
}

// pool is the peer scenario s's pool, made on first use.
func (e *env) pool(s Spec) (*peerPool, error) {
	if p, ok := e.pools[s.label()]; ok {
		return p, nil
	}
	base, err := e.corpusFile(s.File)
	if err != nil {
		return nil, err
	}
	widest := s.Width
	if s.Kind == Widths {
		widest = s.WidthHi
	}
	if widest > base.Width {
		// Pictor and the peers differ on enlarging; compare shrinks only.
		return nil, fmt.Errorf("%w %s: width %d is wider than %s (%d px)", ErrScenario, s.label(), widest, base.Name, base.Width)
	}
	p := &peerPool{}
	switch s.Kind {
	case Distinct:
		if !canMakeUnique(base) {
			return nil, fmt.Errorf("%w %s: %s is not a JPEG, PNG or GIF, which copies can be made of", ErrScenario, s.label(), base.Name)
		}
		first := e.upload.Add(uint64(s.Copies)) - uint64(s.Copies)
		p.copies = newCopySet(base, s.Copies, first, e.corpus)
		for _, f := range p.copies.files {
			p.variants = append(p.variants, Variant{File: f, Width: s.Width, Quality: s.Quality, Format: s.Out})
		}
	case Widths:
		for w := s.WidthLo; w <= s.WidthHi; w++ {
			p.variants = append(p.variants, Variant{File: base, Width: w, Quality: s.Quality, Format: s.Out})
		}
		// In an order fixed by the seed, the same for every target: a
		// page's srcset is not asked for in increasing order either.
		h := fnv.New64a()
		h.Write([]byte(s.label()))
		r := rand.New(rand.NewPCG(e.seed, h.Sum64()))
		r.Shuffle(len(p.variants), func(i, j int) { p.variants[i], p.variants[j] = p.variants[j], p.variants[i] })
	}
	if e.pools == nil {
		e.pools = map[string]*peerPool{}
	}
	e.pools[s.label()] = p
	return p, nil
}

// poolGen readies s's pool for t (its copies uploaded to Pictor, or
// written for a peer) and returns a generator that asks for it in order.
func (e *env) poolGen(ctx context.Context, s Spec, t *Target) (*poolGen, error) {
	p, err := e.pool(s)
	if err != nil {
		return nil, err
	}
	if cs := p.copies; cs != nil {
		if t.IsPictor() {
			fmt.Fprintf(e.stderr, "bench: %s: uploading %d copies of %s to %s\n", s.label(), len(cs.files), cs.base.Name, t.Label)
			err = cs.upload(ctx, t, e.pictor, s.Config)
		} else if cs.dir == "" {
			fmt.Fprintf(e.stderr, "bench: %s: writing %d copies of %s under %s\n", s.label(), len(cs.files), cs.base.Name, e.corpus)
			err = cs.write()
		}
		if err != nil {
			return nil, err
		}
	}
	g := &poolGen{urls: make([]string, len(p.variants))}
	for i, v := range p.variants {
		g.urls[i] = t.VariantURL(e.pictor, v)
	}
	return g, nil
}

// cleanup removes every copy written.
func (e *env) cleanup() error {
	var errs []error
	for _, p := range e.pools {
		if p.copies != nil {
			errs = append(errs, p.copies.remove())
		}
	}
	return errors.Join(errs...)
}

// poolGen asks for its URLs in order, from every worker; past the last it
// starts again, and counts those requests as reused.
type poolGen struct {
	urls []string
	n    atomic.Int64
}

func (g *poolGen) Next(_ *Worker, req *fasthttp.Request) Work {
	i := g.n.Add(1) - 1
	req.SetRequestURI(g.urls[i%int64(len(g.urls))])
	return Work{}
}

// reused is how many requests repeated an earlier one.
func (g *poolGen) reused() int64 { return max(0, g.n.Load()-int64(len(g.urls))) }
