package transform

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pictorhq/pictor/internal/heictest"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

// FuzzCheckHeader fuzzes the header check every original goes through
// before any pixel is decoded: Processor.Probe (transform requests) and
// Processor.ProbeFile (uploads, on the temporary file), under a fuzzed
// pixel limit. vips.Probe is the oracle for what the header says.
//   - neither panics, and both agree;
//   - bytes libvips cannot read give a *DecodeError (422), never a bare
//     libvips error;
//   - a header of zero width or height is a *DecodeError;
//   - a header declaring more pixels than the limit gives
//     ErrTooManyPixels, and so do Process and Variants for it, without a
//     decode (Decodes does not move);
//   - within the limit the header comes back unchanged, and a small image
//     either makes a variant from exactly one decode, fails to decode
//     (*DecodeError), or is refused as an output too large before any
//     decode: never another error, never a 5xx.
func FuzzCheckHeader(f *testing.F) {
	for _, name := range []string{"alpha.png", "sample.jpg"} {
		b, err := os.ReadFile(filepath.Join("../testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		// Both are 60000 pixels or more: just over and at the limit.
		f.Add(b, uint32(59_998))
		f.Add(b, uint32(59_999))
		f.Add(b[:len(b)/2], uint32(50_000_000))
	}
	f.Add([]byte("\xff\xd8\xff\xe0"), uint32(50_000_000))
	heic := heictest.Encode(f, "../testdata/corpus/pngsuite/basn2c08.png", 50) // 32×32
	f.Add(heic, uint32(1023))
	f.Add(heic, uint32(50_000_000))
	f.Add(heic[:len(heic)/2], uint32(50_000_000))
	path := filepath.Join(f.TempDir(), "upload")
	o := parse(f, "w_16")
	f.Fuzz(func(t *testing.T, src []byte, limit uint32) {
		cfg := DefaultConfig()
		cfg.MaxPixels = int64(limit) + 1
		p, err := New(cfg, Deps{})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, src, 0o600); err != nil {
			t.Fatal(err)
		}
		want, werr := vips.Probe(src)
		h, err := p.Probe(src)
		hf, ferr := p.ProbeFile(path)
		if headerClass(err) != headerClass(ferr) || h.Width != hf.Width || h.Height != hf.Height || h.Format != hf.Format {
			t.Fatalf("Probe = %+v, %v but ProbeFile = %+v, %v", h, err, hf, ferr)
		}
		var de *DecodeError
		// An animation counts every frame, and may have only so many.
		frames := int64(1)
		if want.Format == format.GIF || want.Format == format.WebP {
			frames = int64(max(want.Pages, 1))
		}
		pixels := int64(want.Width) * int64(want.Height) * frames
		refusal := ErrTooManyPixels
		switch {
		case werr != nil:
			if !errors.As(err, &de) {
				t.Fatalf("vips.Probe error %v, but Probe = %v (%T), want a *DecodeError", werr, err, err)
			}
			return
		case want.Width < 1 || want.Height < 1:
			if !errors.As(err, &de) {
				t.Fatalf("header %d×%d, Probe = %v, want a *DecodeError", want.Width, want.Height, err)
			}
			return
		case frames > int64(cfg.MaxFrames):
			refusal = ErrTooManyFrames
			if !errors.Is(err, refusal) {
				t.Fatalf("header of %d frames over the limit %d, Probe = %v, want %v", frames, cfg.MaxFrames, err, refusal)
			}
		case pixels > cfg.MaxPixels:
			if !errors.Is(err, refusal) {
				t.Fatalf("header %d×%d×%d frames over the limit %d, Probe = %v, want %v", want.Width, want.Height, frames, cfg.MaxPixels, err, refusal)
			}
		case err != nil:
			t.Fatalf("header %d×%d within the limit %d, Probe = %v", want.Width, want.Height, cfg.MaxPixels, err)
		}
		if h.Width != want.Width || h.Height != want.Height || h.Format != want.Format {
			t.Fatalf("Probe = %+v, vips.Probe = %+v", h, want)
		}

		req := Request{Options: o, Output: Negotiate(o, format.PNG, nil, false)}
		if errors.Is(err, refusal) {
			if _, perr := p.Process(context.Background(), src, req); !errors.Is(perr, refusal) {
				t.Fatalf("header %d×%d×%d over the limit, Process = %v, want %v", want.Width, want.Height, frames, perr, refusal)
			}
			if _, verr := p.Variants(context.Background(), "k", src, []Request{req}); !errors.Is(verr, refusal) || p.Decodes() != 0 {
				t.Fatalf("header %d×%d×%d over the limit, Variants = %v after %d decodes, want %v and none", want.Width, want.Height, frames, verr, p.Decodes(), refusal)
			}
			return
		}
		if pixels > 1<<20 {
			return // a decode this large would slow every iteration down
		}
		res, verr := p.Variants(context.Background(), "k", src, []Request{req})
		switch {
		case verr == nil, errors.As(verr, &de):
			if p.Decodes() != 1 {
				t.Fatalf("Variants = %v after %d decodes, want 1", verr, p.Decodes())
			}
			if verr == nil && (len(res) != 1 || res[0].Width < 1 || res[0].Width > 16 || len(res[0].Body) == 0) {
				t.Fatalf("Variants(w_16) of a %d×%d image = %d results, first %d×%d", want.Width, want.Height, len(res), res[0].Width, res[0].Height)
			}
		case errors.Is(verr, ErrOutputTooLarge), errors.Is(verr, ErrRegion):
			// Refused when planned (a 1-pixel-high image 16 wide at w_16
			// is fine, but a 1×60000 one fitted to w_16 is not), so before
			// any decode.
			if p.Decodes() != 0 {
				t.Fatalf("Variants = %v after %d decodes, want the refusal before decoding", verr, p.Decodes())
			}
		default:
			t.Fatalf("Variants(w_16) of a %d×%d image = %v (%T), want nil or a 4xx error", want.Width, want.Height, verr, verr)
		}
	})
}

// headerClass names the outcome of a header check: Probe and ProbeFile
// read through different libvips sources, so their errors agree in kind,
// not in text.
func headerClass(err error) string {
	var de *DecodeError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrTooManyPixels):
		return "too many pixels"
	case errors.Is(err, ErrTooManyFrames):
		return "too many frames"
	case errors.As(err, &de):
		return "does not decode"
	}
	return "other: " + err.Error()
}
