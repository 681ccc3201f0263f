package transform

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

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
	cfg      Config
	resizer  Resizer
	decoded  DecodeCache   // nil: every variant decodes
	overlays OverlaySource // nil: no image layers
	steps    []Step        // the whole pipeline, for Process
	decode   []Step        // probe to sRGB: what a decoded original has been through
	variant  []Step        // region to encode: what each variant of one decode goes through

	// variant, split after the resize, where Variants keeps a resized
	// image for smaller variants to start from.
	resizeSteps, finishSteps []Step

	// decoding marks originals being decoded for the cache, so that
	// concurrent variants of one original wait for one decode instead of
	// each running their own.
	decodingMu sync.Mutex
	decoding   map[string]chan struct{}
	decodes    atomic.Int64

	// seen is the decoded-original cache's doorkeeper: originals decoded
	// recently, whose next decode is worth keeping.
	seen recent

	// placeholders are the originals' placeholders computed so far.
	placeholders placeholders
	// prepared are layers sized for an output size (see preparedLayer).
	prepared preparedLayers
}

// Deps are the parts a Processor uses that main wires in; each may be nil.
type Deps struct {
	Resizer Resizer     // the resize step; nil: CPUResizer
	Decoded DecodeCache // decoded originals shared across variants; nil: none
	// Overlays reads the originals that image layers (l_) draw; nil: a
	// variant with an image layer fails with ErrNoOverlays.
	Overlays OverlaySource
}

// New returns a Processor. libvips must have been started (vips.Startup).
func New(cfg Config, d Deps) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Resizer == nil {
		d.Resizer = CPUResizer{}
	}
	p := &Processor{cfg: cfg, resizer: d.Resizer, decoded: d.Decoded, overlays: d.Overlays, decoding: make(map[string]chan struct{})}
	p.decode = []Step{
		p.probe,
		p.load,
		p.orient,
		p.toSRGB,
	}
	p.variant = []Step{
		p.trim,
		p.turnSource,
		p.region,
		p.resize,
		p.settle,
		p.turn,
		p.cropOrPad,
		p.effects,
		p.layers,
		p.border,
		p.round,
		p.encode,
	}
	p.resizeSteps, p.finishSteps = p.variant[:4], p.variant[4:]
	p.steps = append(append([]Step(nil), p.decode...), p.variant...)
	return p, nil
}

// job is the state of one run of the pipeline.
type job struct {
	ctx    context.Context
	req    Request
	src    []byte
	hdr    vips.Header
	geo    geometry
	shrink int // shrink-on-load factor, 1 for none
	// borrow: src is mapped memory that outlives the job (VariantsMapped),
	// read in place. streamed: img is decoded sequentially as it is read
	// (vips.LoadOptions.Sequential), so it can be read only once.
	borrow, streamed bool
	out              Output
	img              *vips.Image
	body             []byte
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
//
// Process neither reads nor fills the decoded-original cache; Variants does.
func (p *Processor) Process(ctx context.Context, src []byte, req Request) (Result, error) {
	j := &job{ctx: ctx, req: req, src: src, out: req.Output}
	defer func() { j.img.Close() }()
	if err := j.run(p.steps); err != nil {
		return Result{}, err
	}
	return j.result(), nil
}

// run runs steps in order, checking the context between them.
func (j *job) run(steps []Step) error {
	for _, step := range steps {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		if err := step(j); err != nil {
			return err
		}
	}
	return nil
}

func (j *job) result() Result {
	return Result{Body: j.body, Format: j.out.Format, Width: j.img.Width(), Height: j.img.Height()}
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
	return p.plan(j)
}

// plan decides the output and geometry of j's request for an original
// with header j.hdr, and the shrink-on-load factor that serves it.
func (p *Processor) plan(j *job) error {
	h := j.hdr
	j.out = j.req.Output.resolve(h.HasAlpha, j.req.Options.QualityAuto)
	w, ht := orientedSize(h)
	if err := p.planFor(j, w, ht); err != nil {
		return err
	}
	j.shrink = 1
	// e_trim plans again on what is left after the cut, which a decode
	// shrunk for the uncut size could leave short of pixels.
	if (h.Format == format.JPEG || h.Format == format.WebP) && !j.req.Options.Trim {
		j.shrink = shrinkOnLoad(w, ht, j.geo)
	}
	return nil
}

// planFor sets j's geometry for a source of w×h, as decoded and oriented:
// the options' sizes are those of the image after its a_ turn.
func (p *Processor) planFor(j *job, w, ht int) error {
	o := j.req.Options
	if o.Angle.Swaps() {
		w, ht = ht, w
	}
	var err error
	j.geo, err = plan(w, ht, o, p.cfg)
	j.geo.swap = o.Angle.Swaps() && !j.geo.region
	return err
}

// orientedSize is the original's size once its EXIF orientation is applied.
func orientedSize(h vips.Header) (w, ht int) {
	if h.Orientation >= 5 { // 5–8 swap the axes
		return h.Height, h.Width
	}
	return h.Width, h.Height
}

// loadOptions asks the decoder for the original scaled down by shrink,
// decoded as it streams unless an EXIF rotation or flip must first see the
// whole image (a mirror alone, orientation 2, still reads top to bottom,
// but is rare enough not to be worth its own rule).
func loadOptions(h vips.Header, shrink int, borrow bool) vips.LoadOptions {
	lo := vips.LoadOptions{Sequential: h.Orientation <= 1, Borrow: borrow, Probed: &h}
	switch h.Format {
	case format.JPEG:
		lo.Shrink = shrink
	case format.WebP:
		if shrink > 1 {
			lo.Scale = 1 / float64(shrink)
		}
	}
	return lo
}

func (p *Processor) load(j *job) error {
	lo := loadOptions(j.hdr, j.shrink, j.borrow)
	if !p.streams() {
		lo.Sequential = false
	}
	img, err := vips.Load(j.src, lo)
	if err != nil {
		return &DecodeError{Err: err}
	}
	j.img, j.streamed = img, lo.Sequential
	return nil
}

// streams reports whether the resize step may be given a streamed image.
func (p *Processor) streams() bool {
	r, ok := p.resizer.(OnceReader)
	return ok && r.ReadsOnce()
}

// settle brings a streamed image into memory before a step that reads it
// twice or out of order: the smart crop's attention pass, the
// convolutions, whose windows can reach back further than the decoder's
// line cache, the a_ turn (a column becomes a row), and b_blur's padding,
// made from the image itself. The image is at its output size by now, so
// the copy is small; a plain resize and encode never needs it.
func (p *Processor) settle(j *job) error {
	o := j.req.Options
	if !j.streamed || !(o.Blur > 0 || o.Sharpen || (j.geo.crop && o.Gravity == options.Auto) ||
		o.Angle != options.NoTurn || o.BackgroundBlur) {
		return nil
	}
	j.streamed = false
	mem, err := j.img.CopyMemory()
	if err != nil {
		return &DecodeError{Err: err}
	}
	return j.replace(mem, nil)
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
	tw, th := j.geo.target()
	w, h := j.img.Width(), j.img.Height()
	if w == tw && h == th {
		return nil
	}
	if err := j.replace(p.resizer.Resize(j.ctx, j.img, float64(tw)/float64(w), float64(th)/float64(h))); err != nil {
		return err
	}
	// vips_resize rounds each axis on its own; trim a pixel of excess so
	// the output is exactly the size asked for.
	if w, h := j.img.Width(), j.img.Height(); w > tw || h > th {
		return j.replace(j.img.ExtractArea(0, 0, min(w, tw), min(h, th)))
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
		if o.BackgroundBlur {
			return j.replace(j.img.BlurPad(x, y, g.boxW, g.boxH, padSigma(g.boxW, g.boxH)))
		}
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
	if o.Brightness != 0 || o.Contrast != 0 || o.Saturation != 0 {
		if err := j.replace(j.img.Tone(o.Brightness, o.Contrast, o.Saturation)); err != nil {
			return err
		}
	}
	if o.Grayscale {
		if err := j.replace(j.img.Grayscale()); err != nil {
			return err
		}
	}
	if o.Pixelate > 0 {
		return j.replace(j.img.Pixelate(cssPixels(o.Pixelate, o)))
	}
	return nil
}

// encode writes the output format. A JPEG of an image with alpha is
// flattened by Save onto b_, or white without it.
func (p *Processor) encode(j *job) error {
	so := vips.SaveOptions{
		Format:      j.out.Format,
		Quality:     j.out.Quality,
		Progressive: p.cfg.Progressive && j.out.Format == format.JPEG,
	}
	if o := j.req.Options; o.HasBackground {
		bg := vips.Color(o.Background)
		so.Background = &bg
	}
	body, err := j.img.Save(so)
	if err != nil {
		// libvips evaluates lazily: the source's pixels are decoded inside
		// the save, so a truncated or corrupt original fails here.
		return &DecodeError{Err: err}
	}
	j.body = body
	return nil
}
