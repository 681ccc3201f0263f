package transform

import (
	"context"
	"fmt"
	"sync"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/placeholder"
	"github.com/pictorhq/pictor/transform/vips"
)

// Placeholder is what a page can paint before an original arrives.
type Placeholder struct {
	// BlurHash is the original's BlurHash, 4×3 components.
	BlurHash string `json:"blurhash"`
	// Color is its dominant colour, "#rrggbb".
	Color string `json:"dominant_color"`
}

// placeholderSide is the longest side of the thumbnail placeholders are
// computed from: 4×3 cosine components and 4096 colour cells need no
// more, and the sums then cost microseconds.
const placeholderSide = 32

// maxPlaceholders bounds the placeholders kept, about 100 bytes each.
const maxPlaceholders = 16384

// placeholders remembers the placeholders computed, by original key.
type placeholders struct {
	mu sync.Mutex
	m  map[string]Placeholder
}

func (c *placeholders) get(key string) (Placeholder, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ph, ok := c.m[key]
	return ph, ok
}

func (c *placeholders) put(key string, ph Placeholder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]Placeholder)
	}
	if len(c.m) >= maxPlaceholders {
		for k := range c.m { // any one: Go's map order is random
			delete(c.m, k)
			break
		}
	}
	c.m[key] = ph
}

// CachedPlaceholder returns the placeholder of original key when one has
// been computed, by Placeholder or from a decode a variant made.
func (p *Processor) CachedPlaceholder(key string) (Placeholder, bool) {
	return p.placeholders.get(key)
}

// Placeholder returns the placeholder of original key, whose bytes are
// src: remembered, or computed from a decode already made (the
// decoded-original cache), or else from the smallest decode the format
// allows (1/8 for JPEG and WebP).
func (p *Processor) Placeholder(ctx context.Context, key string, src []byte) (Placeholder, error) {
	if ph, ok := p.placeholders.get(key); ok {
		return ph, nil
	}
	var img *vips.Image
	if p.decoded != nil && key != "" {
		if d, ok := p.decoded.Get(key); ok {
			img = d.img // the handle is ours to close
		}
	}
	if img == nil {
		hdr, err := p.Probe(src)
		if err != nil {
			return Placeholder{}, err
		}
		shrink := 1
		if hdr.Format == format.JPEG || hdr.Format == format.WebP {
			shrink = 8
		}
		p.decodes.Add(1)
		j := &job{ctx: ctx, src: src, hdr: hdr, shrink: shrink}
		if err := j.run([]Step{p.load, p.orient, p.toSRGB}); err != nil {
			j.img.Close()
			return Placeholder{}, err
		}
		img = j.img
	}
	defer img.Close()
	ph, err := computePlaceholder(img)
	if err != nil {
		return Placeholder{}, &DecodeError{Err: err}
	}
	p.placeholders.put(key, ph)
	return ph, nil
}

// notePlaceholder computes and keeps key's placeholder from a decode in
// memory, unless it is known: the decode is there already, and shrinking
// it to the thumbnail is cheap beside the variants made from it.
func (p *Processor) notePlaceholder(key string, img *vips.Image) {
	if key == "" {
		return
	}
	if _, ok := p.placeholders.get(key); ok {
		return
	}
	// A failure here leaves Placeholder to try again; the variants do
	// not depend on it.
	if ph, err := computePlaceholder(img); err == nil {
		p.placeholders.put(key, ph)
	}
}

// computePlaceholder shrinks an sRGB decode to the thumbnail, flattens
// transparency onto white (what most pages sit on) and reads it.
func computePlaceholder(img *vips.Image) (Placeholder, error) {
	w, h := img.Width(), img.Height()
	f := max(1, min(max(w, h)/placeholderSide, min(w, h)))
	thumb := img.Ref()
	defer func() { thumb.Close() }()
	step := func(next *vips.Image, err error) error {
		if err != nil {
			return err
		}
		thumb.Close()
		thumb = next
		return nil
	}
	if f > 1 {
		if err := step(thumb.Shrink(f)); err != nil {
			return Placeholder{}, err
		}
	}
	if thumb.HasAlpha() {
		if err := step(thumb.Flatten(vips.Color{R: 255, G: 255, B: 255})); err != nil {
			return Placeholder{}, err
		}
	}
	if thumb.Bands() != 3 || thumb.BandFormat() != "uchar" {
		return Placeholder{}, fmt.Errorf("placeholder of a %d-band %s image", thumb.Bands(), thumb.BandFormat())
	}
	pim := placeholder.Image{Width: thumb.Width(), Height: thumb.Height(), Bands: 3}
	pim.Pix = make([]byte, pim.Width*pim.Height*3)
	if err := thumb.WritePixels(pim.Pix); err != nil {
		return Placeholder{}, err
	}
	hash, err := placeholder.BlurHash(pim)
	if err != nil {
		return Placeholder{}, err
	}
	c, err := placeholder.Dominant(pim)
	if err != nil {
		return Placeholder{}, err
	}
	return Placeholder{BlurHash: hash, Color: fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])}, nil
}
