package transform

import (
	"context"
	"errors"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/vips"
)

// Request is one variant to make.
type Request struct {
	Options options.Options
	Output  Output // from Negotiate
}

// Result is a finished variant.
type Result struct {
	Body          []byte
	Format        format.Format
	Width, Height int
}

// Step is one stage of the pipeline. Steps replace job.img as they go and
// close the image they replace.
type Step func(*job) error

// Processor runs the pipeline with one configuration. It is safe for
// concurrent use; it holds no per-request state.
type Processor struct {
	cfg     Config
	resizer Resizer
	steps   []Step
}

// New returns a Processor that resizes with r (nil: CPUResizer). libvips
// must have been started (vips.Startup).
func New(cfg Config, r Resizer) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if r == nil {
		r = CPUResizer{}
	}
	p := &Processor{cfg: cfg, resizer: r}
	p.steps = []Step{
		p.probe,
		p.load,
		p.orient,
		p.toSRGB,
		p.region,
		p.resize,
		p.cropOrPad,
		p.effects,
		p.flatten,
		p.encode,
	}
	return p, nil
}

// job is the state of one run of the pipeline.
type job struct {
	ctx  context.Context
	req  Request
	src  []byte
	hdr  vips.Header
	geo  geometry
	out  Output
	img  *vips.Image
	body []byte
}

// replace swaps in the result of an operation on j.img.
func (j *job) replace(next *vips.Image, err error) error {
	if err != nil {
		return err
	}
	j.img.Close()
	j.img = next
	return nil
}

// Process makes one variant from the original's bytes. It checks ctx
// between steps; a step already inside libvips runs to its end.
func (p *Processor) Process(ctx context.Context, src []byte, req Request) (Result, error) {
	j := &job{ctx: ctx, req: req, src: src, out: req.Output}
	defer func() { j.img.Close() }()
	for _, step := range p.steps {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		if err := step(j); err != nil {
			return Result{}, err
		}
	}
	return Result{Body: j.body, Format: j.out.Format, Width: j.img.Width(), Height: j.img.Height()}, nil
}

// Probe reads an original's header without decoding pixels and checks the
// pixel limit.
func (p *Processor) Probe(src []byte) (vips.Header, error) {
	h, err := vips.Probe(src)
	return p.checkHeader(h, err)
}

// ProbeFile is Probe for a file on disk (an upload before it is committed).
func (p *Processor) ProbeFile(path string) (vips.Header, error) {
	h, err := vips.ProbeFile(path)
	return p.checkHeader(h, err)
}

func (p *Processor) checkHeader(h vips.Header, err error) (vips.Header, error) {
	if err != nil {
		return h, &DecodeError{Err: err}
	}
	if h.Width < 1 || h.Height < 1 {
		return h, &DecodeError{Err: errors.New("empty image")}
	}
	if int64(h.Width)*int64(h.Height) > p.cfg.MaxPixels {
		return h, ErrTooManyPixels
	}
	return h, nil
}

func (p *Processor) probe(j *job) error {
	h, err := p.Probe(j.src)
	if err != nil {
		return err
	}
	j.hdr = h
	j.out = j.out.resolve(h.HasAlpha, j.req.Options.QualityAuto)
	w, ht := h.Width, h.Height
	if h.Orientation >= 5 { // 5–8 swap the axes
		w, ht = ht, w
	}
	j.geo, err = plan(w, ht, j.req.Options, p.cfg)
	return err
}

func (p *Processor) load(j *job) error {
	w, h := j.hdr.Width, j.hdr.Height
	if j.hdr.Orientation >= 5 {
		w, h = h, w
	}
	var lo vips.LoadOptions
	switch j.hdr.Format {
	case format.JPEG:
		lo.Shrink = shrinkOnLoad(w, h, j.geo)
	case format.WebP:
		if s := shrinkOnLoad(w, h, j.geo); s > 1 {
			lo.Scale = 1 / float64(s)
		}
	}
	img, err := vips.Load(j.src, lo)
	if err != nil {
		return &DecodeError{Err: err}
	}
	j.img = img
	return nil
}

func (p *Processor) orient(j *job) error {
	if j.img.Orientation() <= 1 {
		return nil
	}
	return j.replace(j.img.AutoRotate())
}

func (p *Processor) toSRGB(j *job) error {
	if err := j.replace(j.img.ToSRGB()); err != nil {
		// Colour conversion is the first step that reads pixels, so a
		// truncated or corrupt file fails here.
		return &DecodeError{Err: err}
	}
	return nil
}

func (p *Processor) region(j *job) error {
	g := j.geo
	if !g.region {
		return nil
	}
	return j.replace(j.img.ExtractArea(g.regionX, g.regionY, g.boxW, g.boxH))
}

func (p *Processor) resize(j *job) error {
	g := j.geo
	w, h := j.img.Width(), j.img.Height()
	if w == g.resizeW && h == g.resizeH {
		return nil
	}
	if err := j.replace(p.resizer.Resize(j.ctx, j.img, float64(g.resizeW)/float64(w), float64(g.resizeH)/float64(h))); err != nil {
		return err
	}
	// vips_resize rounds each axis on its own; trim a pixel of excess so
	// the output is exactly the size asked for.
	if w, h := j.img.Width(), j.img.Height(); w > g.resizeW || h > g.resizeH {
		return j.replace(j.img.ExtractArea(0, 0, min(w, g.resizeW), min(h, g.resizeH)))
	}
	return nil
}

func (p *Processor) cropOrPad(j *job) error {
	g, o := j.geo, j.req.Options
	w, h := j.img.Width(), j.img.Height()
	switch {
	case g.crop && (w > g.boxW || h > g.boxH):
		bw, bh := min(w, g.boxW), min(h, g.boxH)
		if o.Gravity == options.Auto {
			return j.replace(j.img.SmartCrop(bw, bh))
		}
		x, y := anchor(o.Gravity, w, h, bw, bh)
		return j.replace(j.img.ExtractArea(x, y, bw, bh))
	case g.pad && (w < g.boxW || h < g.boxH):
		x, y := anchor(o.Gravity, g.boxW, g.boxH, w, h)
		bg := vips.Color{R: 255, G: 255, B: 255}
		if o.HasBackground {
			bg = vips.Color(o.Background)
		}
		return j.replace(j.img.Embed(x, y, g.boxW, g.boxH, bg))
	}
	return nil
}

func (p *Processor) effects(j *job) error {
	o := j.req.Options
	if o.Blur > 0 {
		if err := j.replace(j.img.GaussBlur(o.Blur)); err != nil {
			return err
		}
	}
	if o.Sharpen {
		if err := j.replace(j.img.Sharpen()); err != nil {
			return err
		}
	}
	if o.Grayscale {
		return j.replace(j.img.Grayscale())
	}
	return nil
}

// flatten removes alpha for JPEG, which has none, over b_ or white.
func (p *Processor) flatten(j *job) error {
	if j.out.Format != format.JPEG || !j.img.HasAlpha() {
		return nil
	}
	bg := vips.Color{R: 255, G: 255, B: 255}
	if o := j.req.Options; o.HasBackground {
		bg = vips.Color(o.Background)
	}
	return j.replace(j.img.Flatten(bg))
}

func (p *Processor) encode(j *job) error {
	body, err := j.img.Save(vips.SaveOptions{
		Format:      j.out.Format,
		Quality:     j.out.Quality,
		Progressive: p.cfg.Progressive && j.out.Format == format.JPEG,
	})
	if err != nil {
		// libvips evaluates lazily: the source's pixels are decoded inside
		// the save, so a truncated or corrupt original fails here.
		return &DecodeError{Err: err}
	}
	j.body = body
	return nil
}
