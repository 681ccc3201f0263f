package harness

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pictorhq/pictor/bench/report"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

// The libvips floor (issue "Cold transforms ahead of imgproxy"): a peer
// scenario's requests made again in this process the way a plain libvips
// user makes them, through the project's binding but not its pipeline
// (which has its own resize engine): decode with shrink-on-load, convert
// to sRGB, vips_resize with Lanczos3 (premultiplied where there is alpha),
// save at the scenario's quality. No HTTP, store, cache or queue. A
// server's CPU per request over it is what the server adds to libvips; the
// issue's target for distinct JPEGs is Pictor at most 1.05× of it.

// FloorLabel is how the comparisons name the floor.
const FloorLabel = "libvips floor"

// floorWork is one peer scenario's requests as the floor makes them.
type floorWork struct {
	base    *File
	hdr     vips.Header // base's, as stored
	copies  *copySet    // distinct: request i reads copy copy[i]; nil: base's bytes
	copy    []int
	widths  []int // request i's width
	out     format.Format
	quality int
	// animated: every frame is loaded, resized as one tall image and saved
	// as an animation, as Pictor and imgproxy keep an animated GIF's frames
	// in a GIF or WebP.
	animated bool
}

// newFloorWork is the floor's view of s's pool, in the order the servers
// were asked.
func newFloorWork(s Spec, p *peerPool) (*floorWork, error) {
	if len(p.variants) == 0 {
		return nil, fmt.Errorf("%w %s: no requests", ErrScenario, s.label())
	}
	w := &floorWork{copies: p.copies, out: s.Out, quality: s.Quality}
	w.base = p.variants[0].File
	if p.copies != nil {
		w.base = p.copies.base
	}
	for i, v := range p.variants {
		w.widths = append(w.widths, v.Width)
		if p.copies != nil {
			w.copy = append(w.copy, i)
		}
	}
	if w.out == format.Unknown {
		w.out = w.base.Format
	}
	h, err := vips.Probe(w.base.Data)
	if err != nil {
		return nil, fmt.Errorf("harness: floor %s: %w", w.base.Name, err)
	}
	w.hdr = h
	w.animated = h.Pages > 1 && (w.out == format.GIF || w.out == format.WebP)
	return w, nil
}

// size is the bytes every request reads: a copy's (all are as long) or the
// original's.
func (w *floorWork) size() int {
	if w.copies != nil {
		return len(w.copies.bytes(nil, 0))
	}
	return len(w.base.Data)
}

// fill writes request i's bytes into buf, which holds the bytes of some
// request before it (or of none, first).
func (w *floorWork) fill(buf []byte, i int, first bool) {
	switch {
	case w.copies == nil:
		if first {
			copy(buf, w.base.Data)
		}
	case first:
		copy(buf, w.copies.bytes(nil, w.copy[i]))
	default:
		restamp(buf, w.base, w.copies.first+uint64(w.copy[i]))
	}
}

// target is the output size for width: the height from the original's
// aspect ratio (EXIF orientation applied, as w_ is measured), at least 1.
func (w *floorWork) target(width int) (int, int) {
	return width, max(1, int(math.Round(float64(w.base.Height)*float64(width)/float64(w.base.Width))))
}

// jpegShrink is the largest of 8, 4, 2, 1 that decodes a w×h JPEG to at
// least tw×th (libjpeg scales in the DCT, so this is far cheaper than a
// full decode), leaving the rest to the Lanczos3 resize.
func jpegShrink(w, h, tw, th int) int {
	for s := 8; s > 1; s /= 2 {
		if w/s >= tw && h/s >= th {
			return s
		}
	}
	return 1
}

// loadOptions is how a request for a tw×th output (as displayed) loads the
// original: shrunk on load where the format can (JPEG by a power of two,
// WebP by any scale), sequentially unless an EXIF turn must see the whole
// image first. buf is borrowed: the floor's buffers are mapped outside the
// Go heap, and a plain libvips user's vips_image_new_from_buffer copies
// nothing either.
func (w *floorWork) loadOptions(tw, th int) vips.LoadOptions {
	h := w.hdr
	turned := h.Orientation > 1 && !w.animated
	lo := vips.LoadOptions{Sequential: !turned, Borrow: true, Probed: &w.hdr}
	sw, sh := tw, th // the target as stored
	if turned && h.Orientation >= 5 {
		sw, sh = th, tw
	}
	switch h.Format {
	case format.JPEG:
		lo.Shrink = jpegShrink(h.Width, h.Height, sw, sh)
	case format.WebP:
		if !w.animated {
			lo.Scale = min(1, max(float64(sw)/float64(h.Width), float64(sh)/float64(h.Height)))
		}
	}
	if w.animated {
		lo.Pages = -1
	}
	return lo
}

// make makes one request: buf is its original's bytes, width its width.
// It returns the encoded image.
func (w *floorWork) make(buf []byte, width int) ([]byte, error) {
	tw, th := w.target(width)
	lo := w.loadOptions(tw, th)
	img, err := vips.Load(buf, lo)
	if err != nil {
		return nil, err
	}
	chain := []*vips.Image{img}
	defer func() { vips.CloseAll(chain) }()
	step := func(next *vips.Image, err error) error {
		if err != nil {
			return err
		}
		chain = append(chain, next)
		img = next
		return nil
	}
	if !lo.Sequential {
		if err := step(img.AutoRotate()); err != nil {
			return nil, err
		}
	}
	var anim *vips.Animation
	pageHeight := img.Height()
	if w.animated {
		a := img.Animation()
		pageHeight = a.PageHeight
		a.PageHeight = th
		anim = &a
	}
	if err := step(img.ToSRGB()); err != nil {
		return nil, err
	}
	if hs, vs := float64(tw)/float64(img.Width()), float64(th)/float64(pageHeight); hs != 1 || vs != 1 {
		if err := step(img.Resize(hs, vs)); err != nil {
			return nil, err
		}
	}
	return img.Save(vips.SaveOptions{Format: w.out, Quality: w.quality, Animation: anim})
}

// Floor makes the first n of w's requests (all, if fewer), workers at a
// time, for about budget at most (a worker starts no request after it,
// but each makes one), and returns the CPU this process spent
// on them (every thread: libvips has threads of its own) and the wall time.
// One request is made first, unmeasured, as the servers had made others
// before theirs. Each worker reads its originals from memory mapped outside
// the Go heap, rewritten in place from copy to copy (restamp), so that no
// copy of the file per request counts against libvips. libvips must have
// been started.
func Floor(ctx context.Context, w *floorWork, n int, budget time.Duration, workers int) (Cost, time.Duration, error) {
	n = min(n, len(w.widths))
	if n < 1 {
		return Cost{}, 0, nil
	}
	size := w.size()
	warm, err := mapped(size)
	if err != nil {
		return Cost{}, 0, err
	}
	w.fill(warm, 0, true)
	_, err = w.make(warm, w.widths[0])
	syscall.Munmap(warm)
	if err != nil {
		return Cost{}, 0, fmt.Errorf("harness: floor %s: %w", w.base.Name, err)
	}
	var (
		next     atomic.Int64
		made     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	bufs := make([][]byte, max(1, workers))
	for i := range bufs {
		if bufs[i], err = mapped(size); err != nil {
			for _, b := range bufs[:i] {
				syscall.Munmap(b)
			}
			return Cost{}, 0, err
		}
	}
	defer func() {
		for _, b := range bufs {
			syscall.Munmap(b)
		}
	}()
	start := time.Now()
	deadline := start.Add(budget)
	cpu0 := cpuTime()
	for _, buf := range bufs {
		wg.Go(func() {
			// A request per worker at least, however short the budget.
			for first := true; ctx.Err() == nil && (first || time.Now().Before(deadline)); first = false {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				w.fill(buf, i, first)
				if _, err := w.make(buf, w.widths[i]); err != nil {
					fail(fmt.Errorf("harness: floor %s, request %d (w %d): %w", w.base.Name, i, w.widths[i], err))
					return
				}
				made.Add(1)
			}
		})
	}
	wg.Wait()
	c := Cost{Images: int(made.Load()), CPU: cpuTime() - cpu0}
	wall := time.Since(start)
	if firstErr != nil {
		return Cost{}, 0, firstErr
	}
	return c, wall, ctx.Err()
}

// mapped is size bytes of anonymous memory outside the Go heap, which
// libvips may read in place (vips.LoadOptions.Borrow); free it with
// syscall.Munmap once every image loaded from it is closed.
func mapped(size int) ([]byte, error) {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("harness: floor: mmap %d bytes: %w", size, err)
	}
	return b, nil
}

// floorDetail says in words how w's floor was made.
func (w *floorWork) floorDetail(c Cost, workers int) string {
	how := "no shrink-on-load"
	switch w.hdr.Format {
	case format.JPEG:
		ws := map[int]bool{}
		for _, wd := range w.widths {
			ws[w.loadOptions(w.target(wd)).Shrink] = true
		}
		how = "JPEG shrink-on-load by the largest of 1, 2, 4, 8 that keeps the target's size"
		if len(ws) == 1 {
			for s := range ws {
				how = fmt.Sprintf("JPEG shrink-on-load by %d (the largest of 1, 2, 4, 8 that keeps the target's size)", s)
			}
		}
	case format.WebP:
		how = "WebP scale-on-load to the target's size"
	}
	anim := ""
	if w.animated {
		anim = ", every frame as one tall image, saved as an animation"
	}
	return fmt.Sprintf("%d of the same requests (same bytes, widths, %s at quality %d) made in the harness process, %d at a time, by plain libvips calls through transform/vips: "+
		"Load (%s, sequential), ToSRGB, Resize (vips_resize, Lanczos3, premultiplied with alpha), Save%s; the process's CPU (getrusage, every thread) ÷ requests",
		c.Images, w.out.Ext(), w.quality, workers, how, anim)
}

// runFloors measures the libvips floor of every peer scenario that ran
// against Pictor: as many of its requests as Pictor was asked, within
// c.floorTime each. A scenario whose pool was never made (it did not run)
// is skipped, saying so.
func (c *cli) runFloors(ctx context.Context, e *env, done []*measured) (map[string]*report.Floor, error) {
	floors := map[string]*report.Floor{}
	for _, m := range done {
		label := m.spec.label()
		if !m.target.IsPictor() || !slices.Contains(PeerKinds, m.spec.Kind) || floors[label] != nil {
			continue
		}
		p, ok := e.pools[label]
		if !ok {
			fmt.Fprintf(e.stderr, "bench: %s: no requests were made; libvips floor skipped\n", label)
			continue
		}
		w, err := newFloorWork(m.spec, p)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stderr, "bench: %s: libvips floor, up to %d requests in %v, %d at a time\n", label, m.res.Requests, c.floorTime, c.baselineWorkers)
		cost, wall, err := Floor(ctx, w, int(m.res.Requests), c.floorTime, c.baselineWorkers)
		if err != nil {
			return nil, err
		}
		if cost.Images == 0 {
			continue
		}
		f := &report.Floor{
			Label: FloorLabel, Requests: int64(cost.Images), Workers: c.baselineWorkers, Seconds: wall.Seconds(),
			CPUPerRequest: ms(cost.PerImage()), Detail: w.floorDetail(cost, c.baselineWorkers),
		}
		fmt.Fprintf(e.stderr, "bench: %s: libvips floor %.2f ms-cpu per request over %d requests in %.2f s\n", label, f.CPUPerRequest, f.Requests, f.Seconds)
		floors[label] = f
	}
	return floors, nil
}
