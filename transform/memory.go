package transform

import "github.com/pictorhq/pictor/transform/format"

// The parts of a transform's working memory that do not follow from its
// header, calibrated against peaks measured over the test corpus and
// generated large originals (TestEstimateCoversMeasuredPeak) and rounded
// up.
const (
	// baseBytes: decoder and encoder state, libvips' region buffers and
	// operation objects, the encoded output. Even a 1×1 PNG to WebP costs
	// a few MiB of peak.
	baseBytes = 8 << 20
	// streamLines is how many source rows a streamed decode holds at its
	// own bit depth: the loader's strips and libvips' sequential line
	// cache, before the conversion to 8 bits.
	streamLines = 256
	// outputCopies: the resized image, a copy made before a step that
	// reads it twice (settle, a kept resize for smaller variants), the
	// encoder's input; at 4 bytes a pixel.
	outputCopies = 3
)

// estimate is the most memory w's Run should hold at once, from the
// header and the plan alone, erring high. It counts:
//
//   - the source bytes (mapped pages are resident once read);
//   - what the decoder holds whole whatever the access: a progressive
//     JPEG's coefficients (2 bytes a sample, at full size: shrink-on-load
//     scales the inverse DCT, not the entropy decode) or an interlaced
//     PNG's or GIF's whole image;
//   - the resize's source rows in flight, counted as twice the whole
//     decode at 8 bits: libvips computes the output in strips of a
//     hundred-odd rows, so at a large reduction the source rows behind one
//     strip span most of the image, and with alpha they pass through the
//     premultiply as float (measured: 0.8× the decode for an RGB PNG
//     reduced 7.5×, 2× for an RGBA one reduced 3×);
//   - for a decode held in memory rather than streamed, the whole image
//     at its own bit depth besides;
//   - a reduced copy for the cache, twice (the resize and its copy);
//   - every variant's output, a few times over, and twice more for each
//     layer (its decode or text render and its sized copy);
//   - for an animation decoded whole, the decode once a frame where the
//     frames are held whole (a few frames' worth where the one resize over
//     the stack streams them), and every animated output's copies once a
//     frame.
//
// A decode the cache already holds costs nothing more.
func (p *Processor) estimate(w *Work) int64 {
	h := w.hdr
	bands := int64(max(h.Bands, 1))
	sample := int64(max(h.BandBytes, 1))
	n := int64(baseBytes) + int64(len(w.src))
	frames := int64(1)
	if w.all {
		frames = int64(animationFrames(h))
	}
	if !w.cached {
		decode := int64(0)
		full := int64(h.Width) * int64(h.Height)
		if h.Interlaced {
			if h.Format == format.JPEG {
				decode += full * min(bands, 4) * 2
			} else {
				decode += full * bands * sample
			}
		}
		lw, lh := int64(w.needW), int64(w.needH)
		decode += 2 * decodedBytes(h, w.needW, w.needH)
		if w.reduceW > 0 {
			decode += 2 * decodedBytes(h, w.reduceW, w.reduceH)
		}
		if p.streamsDecode(w) {
			decode += lw * bands * sample * min(lh, streamLines)
		} else {
			decode += lw * lh * bands * sample
		}
		if w.all && p.streamsDecode(w) { // the one resize over the stacked frames
			n += decode * min(frames, 4)
		} else {
			n += decode * frames
		}
	}
	for _, j := range w.jobs {
		g := j.geo
		ow, oh := int64(max(g.resizeW, g.boxW)), int64(max(g.resizeH, g.boxH))
		if j.animated {
			oh *= frames
		}
		n += ow * oh * 4 * outputCopies
		// A layer is decoded or rendered no larger than the output can
		// show it, then sized and faded: two output-sized images each.
		n += ow * oh * 4 * 2 * int64(len(j.req.Options.LayerList()))
	}
	return n
}

// streamsDecode reports whether Run will stream w's decode through its one
// variant, or into a reduced copy, rather than hold it in memory: see load
// and decodeOnce.
func (p *Processor) streamsDecode(w *Work) bool {
	if w.all {
		// Streamed only through the one resize over the stacked frames.
		return len(w.jobs) == 1 && w.jobs[0].rollOnly
	}
	return ((len(w.jobs) == 1 && !w.keep) || w.reduceW > 0) && w.hdr.Orientation <= 1 && p.streams()
}

// PlaceholderBytes is the memory Placeholder may hold at once for an
// original whose bytes are src, from its header, for admission as
// estimate counts a transform's: the decode Placeholder makes (at 1/8 for
// JPEG and WebP, whole otherwise) held in memory.
func (p *Processor) PlaceholderBytes(src []byte) (int64, error) {
	h, err := p.Probe(src)
	if err != nil {
		return 0, err
	}
	shrink := 1
	if h.Format == format.JPEG || h.Format == format.WebP {
		shrink = 8
	}
	lw, lh := loadedSize(h, shrink)
	w := &Work{src: src, hdr: h, shrink: shrink, needW: lw, needH: lh, keep: true}
	return p.estimate(w), nil
}
