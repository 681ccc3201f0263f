package transform

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"unicode/utf8"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/vips"
)

// The steps of effects and layers: e_trim before the plan holds, the a_
// turn around the resize, then after the crop or pad the layers, the
// border and the rounded corners, in that order, so the frame and the
// corners cut through everything drawn under them.

// OverlaySource reads the originals image layers draw (the originals
// store, through the same interface the server loads originals with).
type OverlaySource interface {
	// Overlay returns the bytes of original key and a func that releases
	// them; the bytes are not used after it is called.
	Overlay(key string) (src []byte, release func(), err error)
}

// ErrNoOverlays is a variant asking for an image layer of a Processor
// given no OverlaySource.
var ErrNoOverlays = errors.New("transform: image layers are not available")

// ErrText is a text layer the renderer draws nothing for (only
// zero-width or ignorable characters, say).
var ErrText = errors.New("transform: text layer renders nothing")

// OverlayError is an image layer's original that could not be read or
// decoded: the store's error (a missing key) or a *DecodeError.
type OverlayError struct {
	Key string
	Err error
}

func (e *OverlayError) Error() string { return "transform: overlay " + e.Key + ": " + e.Err.Error() }
func (e *OverlayError) Unwrap() error { return e.Err }

// cssPixels is n CSS pixels in output pixels at o's dpr_.
func cssPixels(n int, o options.Options) int {
	dpr := o.DPR
	if dpr == 0 {
		dpr = 1
	}
	return int(math.Round(float64(n) * dpr))
}

// padSigma is the blur of b_blur's padding: enough that the copy reads as
// colour and light rather than detail, about 1/40 of the box, capped
// because the Gaussian's cost grows with its width.
func padSigma(w, h int) float64 {
	return min(max(float64(max(w, h))/40, 2), 40)
}

// textSize bounds a text layer's size in pixels so that its render, about
// runes squares of size², covers at most four times the W×H output (and
// a line is no taller than the output): the renderer's memory and time
// then follow the output's whatever the URL asks.
func textSize(size, runes, W, H int) int {
	limit := int(math.Sqrt(4 * float64(W) * float64(H) / float64(max(runes, 1))))
	return max(min(size, limit, H), 1)
}

// inMemory brings a streamed image into memory before a step that reads it
// out of order.
func (j *job) inMemory() error {
	if !j.streamed {
		return nil
	}
	j.streamed = false
	mem, err := j.img.CopyMemory()
	if err != nil {
		return &DecodeError{Err: err}
	}
	return j.replace(mem, nil)
}

// trim cuts the uniform border (e_trim) and plans the variant again on
// what is left, since w_ and h_ apply to the trimmed image.
func (p *Processor) trim(j *job) error {
	if !j.req.Options.Trim {
		return nil
	}
	if err := j.inMemory(); err != nil {
		return err
	}
	l, t, w, h, err := j.img.FindTrim()
	if err != nil {
		return &DecodeError{Err: err}
	}
	// A uniform image has nothing to keep: it stays as it is.
	if w > 0 && h > 0 && (w < j.img.Width() || h < j.img.Height()) {
		if err := j.replace(j.img.ExtractArea(l, t, w, h)); err != nil {
			return err
		}
	}
	return p.planFor(j, j.img.Width(), j.img.Height())
}

// turnSource turns the source before a c_crop region is cut from it: x_
// and y_ are coordinates in the turned image.
func (p *Processor) turnSource(j *job) error {
	if !j.geo.region || j.req.Options.Angle == options.NoTurn {
		return nil
	}
	if err := j.inMemory(); err != nil {
		return err
	}
	return p.applyTurn(j)
}

// turn applies a_ after the resize, where there are fewest pixels to move.
func (p *Processor) turn(j *job) error {
	if j.geo.region || j.req.Options.Angle == options.NoTurn {
		return nil
	}
	return p.applyTurn(j)
}

func (p *Processor) applyTurn(j *job) error {
	switch a := j.req.Options.Angle; a {
	case options.Turn90:
		return j.replace(j.img.Rotate(90))
	case options.Turn180:
		return j.replace(j.img.Rotate(180))
	case options.Turn270:
		return j.replace(j.img.Rotate(270))
	case options.FlipH, options.FlipV:
		return j.replace(j.img.Flip(a == options.FlipH))
	}
	return nil
}

// border frames the output inside its edge (bo_), keeping its size; a
// frame wider than the image allows is narrowed to leave a pixel.
func (p *Processor) border(j *job) error {
	o := j.req.Options
	if o.Border == 0 {
		return nil
	}
	w, h := j.img.Width(), j.img.Height()
	px := min(cssPixels(o.Border, o), (min(w, h)-1)/2)
	if px < 1 {
		return nil
	}
	if err := j.replace(j.img.ExtractArea(px, px, w-2*px, h-2*px)); err != nil {
		return err
	}
	return j.replace(j.img.Embed(px, px, w, h, vips.Color(o.BorderColor)))
}

// round makes the corners transparent (r_); an output format without
// alpha flattens them onto b_, or white, when it is saved.
func (p *Processor) round(j *job) error {
	o := j.req.Options
	if o.Radius == 0 && !o.RadiusMax {
		return nil
	}
	w, h := j.img.Width(), j.img.Height()
	rx, ry := w/2, h/2
	if !o.RadiusMax {
		r := cssPixels(o.Radius, o)
		rx, ry = min(r, rx), min(r, ry)
	}
	return j.replace(j.img.Round(rx, ry))
}

// layers draws each overlay in order (l_, then the watermark).
func (p *Processor) layers(j *job) error {
	for _, l := range j.req.Options.LayerList() {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		if err := p.layer(j, l); err != nil {
			return err
		}
	}
	return nil
}

func (p *Processor) layer(j *job, l options.Layer) error {
	o := j.req.Options
	W, H := j.img.Width(), j.img.Height()
	im, err := p.preparedLayer(j, l)
	if err != nil {
		return err
	}
	defer func() { im.Close() }()
	swap := func(next *vips.Image, err error) error {
		if err != nil {
			return err
		}
		im.Close()
		im = next
		return nil
	}
	if l.Tile {
		if err := swap(im.Tile(W, H)); err != nil {
			return err
		}
		return j.replace(j.img.Composite(im, 0, 0))
	}
	x, y := anchor(l.Gravity, W, H, im.Width(), im.Height())
	dx, dy := cssPixels(l.X, o), cssPixels(l.Y, o)
	// lx_ and ly_ move the layer in from the edges its gravity names.
	switch l.Gravity {
	case options.East, options.NorthEast, options.SouthEast:
		x -= dx
	default:
		x += dx
	}
	switch l.Gravity {
	case options.South, options.SouthEast, options.SouthWest:
		y -= dy
	default:
		y += dy
	}
	return j.replace(j.img.Composite(im, x, y))
}

// preparedLayer returns l sized for j's output and with its opacity, from
// the prepared layers when an earlier variant of the same output size
// made it: a logo on every 400w variant is scaled once, not per variant
// (the resize of even a small RGBA overlay costs about a sixth of the
// variant). An image layer's prepared copy is used only while its decode
// is still in the decoded-original cache, which a DELETE of the overlay's
// original purges, so a deleted overlay is not drawn from memory.
func (p *Processor) preparedLayer(j *job, l options.Layer) (*vips.Image, error) {
	o := j.req.Options
	W, H := j.img.Width(), j.img.Height()
	// Everything the size and the fade depend on; not the place.
	pkey := fmt.Sprintf("%s|%s|%d|%d|%d|%d|%s|%g|%dx%d", l.Key, l.Text, l.Width, l.Opacity, l.Size, l.Font, l.Color, o.DPR, W, H)
	if im := p.prepared.get(pkey); im != nil {
		if p.layerLive(l) {
			return im, nil
		}
		im.Close()
	}
	var im *vips.Image
	var err error
	var fullW int // the layer's own width, which its decode may be shrunk from
	if l.IsText() {
		text := l.String()
		im, err = vips.Text(text, l.Font.Family(), textSize(cssPixels(l.Size, o), utf8.RuneCountInString(text), W, H), W, vips.Color(l.Color))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrText, err)
		}
		fullW = im.Width()
	} else {
		if im, fullW, _, err = p.overlay(l.Key, W, H); err != nil {
			return nil, err
		}
	}
	swap := func(next *vips.Image, err error) error {
		if err != nil {
			return err
		}
		im.Close()
		im = next
		return nil
	}

	// The size: lw_ of the output width, else its own (an image's times
	// dpr_; a text is rendered at its size already), and never larger
	// than the output, which bounds the work of a huge overlay.
	ow, oh := float64(im.Width()), float64(im.Height())
	scale := float64(fullW) / ow
	switch {
	case l.Width > 0:
		scale = float64(W) * float64(l.Width) / 100 / ow
	case !l.IsText() && o.DPR > 0:
		scale *= o.DPR
	}
	scale = min(scale, float64(W)/ow, float64(H)/oh)
	if math.Abs(scale-1) > 1e-9 {
		scale = max(scale, 1/ow, 1/oh)
		if err := swap(im.Resize(scale, scale)); err != nil {
			im.Close()
			return nil, err
		}
	}
	// Opacity always: it also gives an opaque overlay the alpha that the
	// composite expects.
	if err := swap(im.Opacity(l.Opacity)); err != nil {
		im.Close()
		return nil, err
	}
	if err := swap(im.CopyMemory()); err != nil {
		im.Close()
		return nil, &DecodeError{Err: err}
	}
	p.prepared.put(pkey, im)
	return im, nil
}

// layerLive reports whether a prepared copy of l may still be drawn: a
// text always, an image while its decode is cached.
func (p *Processor) layerLive(l options.Layer) bool {
	if l.IsText() {
		return true
	}
	if p.decoded == nil {
		return false
	}
	d, ok := p.decoded.Get(l.Key)
	if ok {
		d.Release()
	}
	return ok
}

// maxPreparedBytes bounds the prepared layers: overlays at output size,
// a few hundred KB each for the sizes that recur.
const maxPreparedBytes = 32 << 20

// preparedLayers keeps layers sized and faded for an output size.
type preparedLayers struct {
	mu    sync.Mutex
	m     map[string]*vips.Image
	bytes int64
}

// get returns a handle of its own on the layer prepared under key, or nil.
func (c *preparedLayers) get(key string) *vips.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	if im := c.m[key]; im != nil {
		return im.Ref()
	}
	return nil
}

// put keeps a handle on im under key, dropping others (any: Go's map
// order is random) to stay within maxPreparedBytes.
func (c *preparedLayers) put(key string, im *vips.Image) {
	n := im.MemoryBytes()
	if n > maxPreparedBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*vips.Image)
	}
	if _, ok := c.m[key]; ok {
		return
	}
	for k, old := range c.m {
		if c.bytes+n <= maxPreparedBytes {
			break
		}
		c.bytes -= old.MemoryBytes()
		old.Close()
		delete(c.m, k)
	}
	c.m[key] = im.Ref()
	c.bytes += n
}

// overlay returns the decoded original key for an image layer drawn on a
// W×H output, oriented and in sRGB, and the original's own oriented size.
// A layer is never drawn larger than the output, so the decode need only
// cover it: JPEG and WebP shrink on load as far as that allows. The
// decode comes from the decoded-original cache when the cache holds one
// large enough; else it is read, decoded and offered to the cache, where
// later variants drawing it find it.
func (p *Processor) overlay(key string, W, H int) (_ *vips.Image, fullW, fullH int, _ error) {
	covers := func(d *Decoded) bool {
		fw, fh := orientedSize(d.hdr)
		nw, nh := overlayNeed(fw, fh, W, H)
		return d.img.Width() >= nw && d.img.Height() >= nh
	}
	if p.decoded != nil {
		if d, ok := p.decoded.Get(key); ok {
			if covers(d) {
				fw, fh := orientedSize(d.hdr)
				return d.img, fw, fh, nil // the handle passes to the caller
			}
			d.Release()
		}
	}
	if p.overlays == nil {
		return nil, 0, 0, ErrNoOverlays
	}
	src, release, err := p.overlays.Overlay(key)
	if err != nil {
		return nil, 0, 0, &OverlayError{Key: key, Err: err}
	}
	defer release()
	hdr, err := p.Probe(src)
	if err != nil {
		return nil, 0, 0, &OverlayError{Key: key, Err: err}
	}
	fullW, fullH = orientedSize(hdr)
	nw, nh := overlayNeed(fullW, fullH, W, H)
	shrink := 1
	if hdr.Format == format.JPEG || hdr.Format == format.WebP {
		for _, s := range [...]int{8, 4, 2} {
			if lw, lh := loadedSize(hdr, s); lw >= nw && lh >= nh {
				shrink = s
				break
			}
		}
	}
	j := &job{src: src, hdr: hdr, shrink: shrink}
	img, err := vips.Load(src, loadOptions(hdr, shrink, false))
	if err != nil {
		return nil, 0, 0, &OverlayError{Key: key, Err: &DecodeError{Err: err}}
	}
	j.img = img
	for _, step := range []Step{p.orient, p.toSRGB} {
		if err := step(j); err != nil {
			j.img.Close()
			return nil, 0, 0, &OverlayError{Key: key, Err: err}
		}
	}
	// Into memory: the bytes are released on return, and every variant
	// drawing the overlay reads these pixels.
	mem, err := j.img.CopyMemory()
	j.img.Close()
	if err != nil {
		return nil, 0, 0, &OverlayError{Key: key, Err: &DecodeError{Err: err}}
	}
	if p.decoded != nil && p.decoded.Admits(mem.MemoryBytes()) {
		p.decoded.Put(key, &Decoded{img: mem.Ref(), hdr: hdr})
	}
	return mem, fullW, fullH, nil
}

// overlayNeed is the least decoded size of a fw×fh overlay that covers
// any size it is drawn at on a W×H output.
func overlayNeed(fw, fh, W, H int) (int, int) {
	r := min(1, max(float64(W)/float64(fw), float64(H)/float64(fh)))
	return int(math.Ceil(float64(fw) * r)), int(math.Ceil(float64(fh) * r))
}
