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
	// frame is variant up to the encode: what each frame of an
	// animation goes through on its own (eachFrame).
	frame []Step

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
	p.frame = p.variant[:len(p.variant)-1]
	p.steps = append(append([]Step(nil), p.decode...), p.runVariant)
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
	// borrow: src is mapped memory that outlives the job (Work.Borrow),
	// read in place. streamed: img is decoded sequentially as it is read
	// (vips.LoadOptions.Sequential), so it can be read only once.
	borrow, streamed bool
	out              Output
	img              *vips.Image
	body             []byte

	// page is the frame to output (pg_, from 0). animated: the output
	// keeps every frame. frames is how many frames img holds, stacked top
	// to bottom (0 or 1: one), and anim their delays and loop count.
	page     int
	animated bool
	frames   int
	anim     vips.Animation
	// cpu sends the resize to libvips in this goroutine, never to the
	// device queue: the frames of an animation (eachFrame).
	cpu bool
	// rollOnly: the animated output needs nothing but the one resize over
	// the stacked frames (eachFrame), which reads them top to bottom once.
	rollOnly bool
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
	return Result{Body: j.body, Format: j.out.Format, Width: j.img.Width(), Height: j.img.Height() / max(j.frames, 1)}
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
	frames := animationFrames(h)
	if frames > p.cfg.MaxFrames {
		return h, ErrTooManyFrames
	}
	// Every frame is decoded for an animated output: the limit is on the
	// pixels of all of them.
	if int64(h.Width)*int64(h.Height)*int64(frames) > p.cfg.MaxPixels {
		return h, ErrTooManyPixels
	}
	return h, nil
}

// animationFrames is how many frames an original holds for the pipeline:
// its pages for GIF and WebP, the formats that animate; 1 for the others,
// whose extra pages (a HEIF's thumbnails or depth map) are never decoded.
func animationFrames(h vips.Header) int {
	if h.Format == format.GIF || h.Format == format.WebP {
		return max(h.Pages, 1)
	}
	return 1
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
	h, o := j.hdr, j.req.Options
	frames := animationFrames(h)
	if o.Page > frames {
		return ErrPage
	}
	j.page = max(o.Page-1, 0)
	out := j.req.Output
	if o.Page == 0 {
		out = out.animate(frames, o.QualityAuto)
	}
	j.out = out.resolve(h.HasAlpha, o.QualityAuto)
	// Only GIF and WebP animate; any other output is the first frame.
	j.animated = o.Page == 0 && frames > 1 && (j.out.Format == format.GIF || j.out.Format == format.WebP)
	j.rollOnly = j.animated && resizeOnly(o)
	w, ht := orientedSize(h)
	if err := p.planFor(j, w, ht); err != nil {
		return err
	}
	j.shrink = 1
	// e_trim plans again on what is left after the cut, which a decode
	// shrunk for the uncut size could leave short of pixels. Not for an
	// animated WebP either: its frames are loaded whole, and a frame's
	// scaled height would not be a whole multiple of the page.
	if (h.Format == format.JPEG || (h.Format == format.WebP && frames == 1)) && !j.req.Options.Trim {
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
// An animation's orientation is ignored (see orient).
func orientedSize(h vips.Header) (w, ht int) {
	if h.Orientation >= 5 && animationFrames(h) == 1 { // 5–8 swap the axes
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
	lo.Page = j.page
	if j.animated {
		// Every frame, stacked: streamed through the one resize when
		// that is all (a third less CPU than decoding into memory first
		// for a 100-frame GIF), else read at random, frame by frame.
		lo.Pages, lo.Sequential = -1, j.rollOnly
	}
	img, err := vips.Load(j.src, lo)
	if err != nil {
		return &DecodeError{Err: err}
	}
	j.img, j.streamed = img, lo.Sequential
	j.frames, j.anim = 1, vips.Animation{}
	if j.animated {
		j.anim = img.Animation()
		j.frames = j.anim.Frames(img.Height())
	}
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
	return j.inMemory()
}

// orient applies the EXIF orientation. Not to an animation (an animated
// WebP may carry EXIF): libvips would turn the stack of frames as one
// image, and its first frame alone is left as its frames are.
func (p *Processor) orient(j *job) error {
	if j.img.Orientation() <= 1 || animationFrames(j.hdr) > 1 {
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
	hs, vs := float64(tw)/float64(w), float64(th)/float64(h)
	if img := p.direct(j, hs, vs); img != nil {
		j.streamed = false
		return j.replace(img, nil)
	}
	r := p.resizer
	if j.cpu {
		r = CPUResizer{}
	}
	if err := j.replace(r.Resize(j.ctx, j.img, hs, vs)); err != nil {
		if j.ctx.Err() != nil {
			return err
		}
		// The resize engine reads the source's pixels as it goes, so a
		// truncated or corrupt original fails here (see encode).
		return &DecodeError{Err: err}
	}
	// vips_resize rounds each axis on its own; trim a pixel of excess so
	// the output is exactly the size asked for.
	if w, h := j.img.Width(), j.img.Height(); w > tw || h > th {
		return j.replace(j.img.ExtractArea(0, 0, min(w, tw), min(h, th)))
	}
	return nil
}

// direct decodes the original and resizes it in one pass, the decoder's
// rows going straight into the resize engine (vips.ResamplePNG,
// vips.ResampleJPEG), when the resize is the first step to read the
// decode and the decode is the original as stored: streamed (so read by
// nothing else), 8-bit sRGB JPEG or PNG (not interlaced), with no
// profile to convert from, no EXIF turn and nothing cut or turned before
// the resize. j.img, the lazy decode, is then never evaluated. The
// pixels are those of the engine over j.img. nil: not here, or the
// decoder refused (the lazy decode then has its turn, and reports the
// error if the file is bad).
func (p *Processor) direct(j *job, hs, vs float64) *vips.Image {
	h := j.hdr
	if !j.streamed || j.cpu || j.frames > 1 || j.geo.region || h.HasICC || h.Orientation > 1 ||
		h.BandBytes != 1 || h.Interpretation != "srgb" {
		return nil
	}
	plan := EnginePlan(j.img, hs, vs)
	if plan == nil {
		return nil
	}
	var img *vips.Image
	var err error
	switch {
	case h.Format == format.JPEG && h.Bands == 3:
		img, err = vips.ResampleJPEG(j.src, h.Width, h.Height, j.shrink, plan.Engine(), j.img)
	case h.Format == format.PNG && !h.Interlaced && (h.Bands == 3 || h.Bands == 4):
		img, err = vips.ResamplePNG(j.src, plan.Engine(), j.img)
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return img
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
	if j.frames > 1 {
		a := j.anim
		a.PageHeight = j.img.Height() / j.frames
		so.Animation = &a
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

// runVariant runs the variant steps on j.img, which holds the decode j
// starts from: one frame, or every frame of an animation. An animated
// output has each frame resized, cropped and given its effects on its
// own; any other takes its one frame first.
func (p *Processor) runVariant(j *job) error {
	if j.frames > 1 && !j.animated {
		// A decode of every frame, made for another request of a srcset.
		ph := j.img.Height() / j.frames
		if err := j.replace(j.img.ExtractArea(0, j.page*ph, j.img.Width(), ph)); err != nil {
			return err
		}
		j.frames = 1
	}
	if j.frames > 1 {
		if err := p.eachFrame(j); err != nil {
			return err
		}
		return p.encode(j)
	}
	return j.run(p.variant)
}

// eachFrame runs the frame steps (the variant's up to the encode) on every
// frame of an animation on its own, so that no crop, pad or blur reaches
// across a frame boundary, and stacks the results again. The resize,
// unless a c_crop region comes first, runs once over the whole stack
// (rollResize). Frames go to the CPU resize, never the device queue: a
// GPU resize of a hundred small frames would cost more in transfers than
// it saves, and the CPU result is the oracle the device matches anyway.
// g_auto anchors at the centre: a crop that followed each frame's interest
// would shake.
func (p *Processor) eachFrame(j *job) error {
	if !j.geo.region {
		resized, err := p.rollResize(j)
		if err != nil {
			return err
		}
		if resized && resizeOnly(j.req.Options) {
			return nil // nothing left to do frame by frame
		}
	}
	frames, err := j.img.SplitFrames(j.img.Height() / j.frames)
	if err != nil {
		return err
	}
	defer func() { vips.CloseAll(frames) }()
	req := j.req
	if req.Options.Gravity == options.Auto {
		req.Options.Gravity = options.Center
	}
	// Each frame would be trimmed to its own size, and frames of
	// different sizes make no animation.
	req.Options.Trim = false
	for i, f := range frames {
		fj := &job{ctx: j.ctx, req: req, hdr: j.hdr, geo: j.geo, out: j.out, img: f, cpu: true}
		frames[i] = nil // fj owns it now, and closes what it replaces
		err := fj.run(p.frame)
		frames[i] = fj.img
		if err != nil {
			return err
		}
	}
	return j.replace(vips.JoinFrames(frames))
}

// rollResize resizes every frame of an animation in one pass over the
// stacked image, with a vertical scale that takes each frame's height to
// the output's exactly, as libvips' own thumbnail does. One Lanczos3
// pipeline instead of one per frame halves the cost of a 100-frame GIF
// (each libvips resize compiles its vector code when it is built). The
// horizontal pass never crosses frames; the vertical kernel reaches up to
// three output rows into the neighbouring frame at each boundary, where
// consecutive frames of an animation are nearly alike. Where libvips'
// rounding would not give whole frames, it reports false and leaves the
// frames to be resized one by one by the frame steps.
func (p *Processor) rollResize(j *job) (resized bool, _ error) {
	tw, th := j.geo.target() // before an a_ turn, which each frame gets after
	w, ph := j.img.Width(), j.img.Height()/j.frames
	if w == tw && ph == th {
		return true, nil
	}
	r, err := CPUResizer{}.Resize(j.ctx, j.img, float64(tw)/float64(w), float64(th)/float64(ph))
	if err != nil {
		return false, err
	}
	want := th * j.frames
	if r.Width() < tw || r.Height() < want {
		r.Close()
		return false, nil
	}
	if r.Width() > tw || r.Height() > want {
		trimmed, err := r.ExtractArea(0, 0, tw, want)
		r.Close()
		if err != nil {
			return false, err
		}
		r = trimmed
	}
	return true, j.replace(r, nil)
}

// resizeOnly reports whether o asks an animation for nothing but a resize
// and an encode, so that every step after the resize leaves its frames as
// they are (eachFrame need not cut them apart). It errs towards false: an
// option it does not know of counts as more work.
func resizeOnly(o options.Options) bool {
	r := o.Variant()
	r.Width, r.Height, r.DPR = 0, 0, 0
	r.Format, r.FormatAuto, r.Quality, r.QualityAuto, r.Page = format.Unknown, false, 0, false, 0
	// b_ only pads and flattens into JPEG; an e_trim is not applied to an
	// animation (eachFrame).
	r.Background, r.HasBackground, r.Trim = options.Color{}, false, false
	if r.Crop == options.Limit || r.Crop == options.Scale {
		r.Crop = options.Fit
	}
	return r == options.Options{}
}
