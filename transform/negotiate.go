package transform

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
)

// PipelineVersion is part of every variant key. Bump it whenever a change
// alters output bytes, so caches never serve the old rendering.
const PipelineVersion = 5

// Output is what a request negotiated, before any pixel is decoded.
type Output struct {
	// Format is the output format. Unknown means "JPEG, or PNG when the
	// source has alpha": f_auto for a client that takes neither AVIF nor
	// WebP, or no f_ for a source in a format Pictor does not write. The
	// choice is a property of the original, so it is still one
	// variant per original.
	Format format.Format
	// Vary lists the request headers the choice depended on, for the
	// response's Vary header: "Accept", "Save-Data, ECT" or both, or "".
	Vary string
	// Quality is the encoder quality; 0 leaves the format's default.
	Quality int
	// saveData records whether q_auto was lowered, for the variant key.
	saveData bool
	// auto and webp record f_auto and whether Accept names WebP: an
	// animation keeps its frames as WebP where accepted, else as GIF
	// (animate), whatever still format Format names.
	auto, webp bool
}

// Negotiate decides the output format and quality from the options, the
// source format (from the key's extension) and the request's Accept, and
// whether it asks to save data: Save-Data: on, or an effective connection
// type (ECT) of 2g or slower, either of which lowers q_auto.
func Negotiate(o options.Options, src format.Format, accept []byte, saveData bool) Output {
	var out Output
	switch {
	case o.FormatAuto:
		out.Vary = "Accept"
		out.auto, out.webp = true, accepts(accept, "image/webp")
		switch {
		case accepts(accept, "image/avif"):
			out.Format = format.AVIF
		case accepts(accept, "image/jxl"):
			out.Format = format.JXL
		case accepts(accept, "image/webp"):
			out.Format = format.WebP
		}
	case o.Format != format.Unknown:
		out.Format = o.Format
	case src.Output():
		out.Format = src
		// A source Pictor does not write (HEIC) stays Unknown: JPEG, or
		// PNG when it has alpha, settled in resolve.
	}
	switch {
	case o.Quality > 0:
		out.Quality = o.Quality
	case o.QualityAuto:
		if out.Vary == "" {
			out.Vary = "Save-Data, ECT"
		} else {
			out.Vary += ", Save-Data, ECT"
		}
		out.saveData = saveData
		// For f_auto's JPEG-or-PNG case the quality is settled in resolve
		// once alpha is known; PNG ignores it.
		out.Quality = quality(out.Format, true, saveData)
	}
	return out
}

// resolve settles an Unknown output format once the source's alpha is
// known.
func (o Output) resolve(hasAlpha bool, qualityAuto bool) Output {
	if o.Format != format.Unknown {
		return o
	}
	o.Format = format.JPEG
	if hasAlpha {
		o.Format = format.PNG
	}
	if qualityAuto {
		o.Quality = quality(o.Format, true, o.saveData)
	}
	return o
}

// animate settles the output format of an animation of frames frames
// (1 for a still or when pg_ picks one): f_auto keeps the frames, as WebP
// where the client takes it, else as GIF. No other format animates in
// libvips 8.14, AVIF included.
func (o Output) animate(frames int, qualityAuto bool) Output {
	if !o.auto || frames < 2 {
		return o
	}
	o.Format = format.GIF
	if o.webp {
		o.Format = format.WebP
	}
	if qualityAuto {
		o.Quality = quality(o.Format, true, o.saveData)
	}
	return o
}

// accepts reports whether an Accept header lists mime with a non-zero q.
// Wildcards do not count: browsers name AVIF and WebP explicitly when they
// decode them, and */* says nothing about either.
func accepts(header []byte, mime string) bool {
	for len(header) > 0 {
		var item []byte
		if i := bytes.IndexByte(header, ','); i >= 0 {
			item, header = header[:i], header[i+1:]
		} else {
			item, header = header, nil
		}
		typ, params, _ := bytes.Cut(item, []byte{';'})
		if !bytes.EqualFold(bytes.TrimSpace(typ), []byte(mime)) {
			continue
		}
		return qNonZero(params)
	}
	return false
}

// qNonZero reads a q= parameter; absent means 1.
func qNonZero(params []byte) bool {
	for len(params) > 0 {
		var p []byte
		if i := bytes.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			p, params = params, nil
		}
		name, val, ok := bytes.Cut(bytes.TrimSpace(p), []byte{'='})
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("q")) {
			continue
		}
		q, err := strconv.ParseFloat(string(bytes.TrimSpace(val)), 64)
		return err == nil && q > 0
	}
	return true
}

// VariantKey names a variant for caches: a hash of the pipeline version,
// the canonical options (without signature, expiry or key id, which do not
// change pixels), the negotiated output and the original's key. It is 32 hex
// digits, safe as a file name.
func VariantKey(o options.Options, original string, out Output) string {
	// The message is built in a stack buffer and hashed in one call, so
	// naming a variant allocates only the returned string.
	var buf [256]byte
	b := strconv.AppendInt(buf[:0], PipelineVersion, 10)
	b = append(b, '|')
	b = o.Variant().Append(b)
	b = append(b, '|')
	b = append(b, out.Format.String()...)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(out.Quality), 10)
	if out.saveData {
		b = append(b, "|sd"...)
	}
	if out.auto && out.webp && out.Format != format.WebP {
		// An animation comes out as WebP for this client, as GIF for one
		// that names the same still format without WebP.
		b = append(b, "|aw"...)
	}
	b = append(b, '|')
	b = append(b, original...)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
