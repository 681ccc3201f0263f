package resample

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

// TestEngineEqualsReference: over the grid, the CPU engine computes every
// plan byte for byte as the Go reference does (and so as the kernels do).
func TestEngineEqualsReference(t *testing.T) {
	for i, c := range grid(testing.Short() || raceEnabled) {
		pix := testImage(c.w, c.h, c.bands, c.alpha, uint64(i))
		p, err := NewPlan(c.w, c.h, c.bands, c.alpha, c.hs, c.vs, Geometry{})
		if err == ErrIdentity {
			continue
		}
		if err != nil {
			t.Fatalf("%v: NewPlan: %v", c, err)
		}
		want, err := Reference(p, pix)
		if err != nil {
			t.Fatal(err)
		}
		img, err := vips.FromPixels(pix, c.w, c.h, c.bands, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := img.Resample(p.Engine())
		img.Close()
		if err != nil {
			t.Fatalf("%v: Resample: %v", c, err)
		}
		if out.Width() != p.OutWidth() || out.Height() != p.OutHeight() || out.Bands() != c.bands {
			t.Fatalf("%v: engine made %dx%dx%d, plan %dx%dx%d", c, out.Width(), out.Height(), out.Bands(), p.OutWidth(), p.OutHeight(), c.bands)
		}
		got := make([]byte, p.OutBytes())
		if err := out.WritePixels(got); err != nil {
			t.Fatal(err)
		}
		out.Close()
		if d, at := maxDiff(got, want); d != 0 {
			px := at / c.bands
			t.Errorf("%v: max diff %d at (%d,%d) band %d: engine %d, reference %d (stages %v)",
				c, d, px%p.OutWidth(), px/p.OutWidth(), at%c.bands, got[at], want[at], p.Stages)
		}
	}
}

// decoderFiles are the originals the direct decoders are checked on: the
// PngSuite and EXIF-orientation sets, the test photos, and generated
// ones (progressive JPEG, palette PNG with transparency, large RGBA).
func decoderFiles(t *testing.T) map[string][]byte {
	t.Helper()
	root := filepath.Join("..", "..", "..", "testdata")
	names, err := filepath.Glob(filepath.Join(root, "corpus", "*", "*.*g"))
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, filepath.Join(root, "alpha.png"), filepath.Join(root, "sample.jpg"))
	files := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(n)] = b
	}
	gen := func(name string, w, h, bands int, so vips.SaveOptions) {
		img, err := vips.FromPixels(testImage(w, h, bands, bands == 4, uint64(len(files))), w, h, bands, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer img.Close()
		b, err := img.Save(so)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	gen("gen-progressive.jpg", 1203, 807, 3, vips.SaveOptions{Format: format.JPEG, Quality: 85, Progressive: true})
	gen("gen-baseline.jpg", 2001, 1333, 3, vips.SaveOptions{Format: format.JPEG, Quality: 92})
	gen("gen-rgba.png", 1501, 999, 4, vips.SaveOptions{Format: format.PNG})
	gen("gen-rgb.png", 999, 1501, 3, vips.SaveOptions{Format: format.PNG})
	return files
}

// TestDecodersEqualEngine: the decoders that feed the engine directly
// (ResamplePNG, ResampleJPEG) give the pixels of the engine over libvips'
// own decode, at every shrink-on-load and several scales, for every file
// they take; files they do not take are refused with an error; and a
// truncated file gives the same pixels or fails on both paths.
func TestDecodersEqualEngine(t *testing.T) {
	files := decoderFiles(t)
	scales := [][2]float64{{0.5, 0.5}, {0.31, 0.29}, {0.1, 0.1}, {1, 0.4}, {0.9, 1}}
	if raceEnabled {
		scales = scales[:2] // the decoders are C; -race has little to add
	}
	taken := 0
	for name, data := range files {
		h, err := vips.Probe(data)
		if err != nil {
			continue // PngSuite's broken files: the pipeline stops at the probe
		}
		shrinks := []int{1}
		if h.Format == format.JPEG {
			shrinks = []int{1, 2, 4, 8}
		}
		eligible := h.BandBytes == 1 && h.Interpretation == "srgb" && !h.HasICC &&
			((h.Format == format.JPEG && h.Bands == 3) || (h.Format == format.PNG && !h.Interlaced && h.Bands >= 3))
		for _, shrink := range shrinks {
			for i, sc := range scales {
				if !eligible && i > 0 {
					break
				}
				cases := []struct {
					what string
					data []byte
				}{{"whole", data}}
				if i == 0 && shrink == 1 {
					cases = append(cases, struct {
						what string
						data []byte
					}{"truncated", data[:len(data)*2/3]})
				}
				for _, c := range cases {
					lazy, err := vips.Load(c.data, vips.LoadOptions{Shrink: shrink, Sequential: true})
					if err != nil {
						continue // a truncation that cuts the header
					}
					srgb, err := lazy.ToSRGB()
					lazy.Close()
					if err != nil {
						t.Fatal(err)
					}
					p, err := NewPlan(srgb.Width(), srgb.Height(), srgb.Bands(), srgb.HasAlpha(), sc[0], sc[1], Geometry{})
					if err != nil {
						srgb.Close()
						continue
					}
					var got *vips.Image
					var gerr error
					if h.Format == format.JPEG {
						got, gerr = vips.ResampleJPEG(c.data, h.Width, h.Height, shrink, p.Engine(), srgb)
					} else {
						got, gerr = vips.ResamplePNG(c.data, p.Engine(), srgb)
					}
					want, werr := srgb.Resample(p.Engine())
					srgb.Close()
					switch {
					case !eligible && c.what == "whole":
						if gerr == nil && h.Format != format.JPEG {
							t.Errorf("%s (%s, %d bands, interlaced %v): decoded directly, want refused", name, h.Interpretation, h.Bands, h.Interlaced)
						}
					case gerr != nil && werr != nil:
					case gerr != nil || werr != nil:
						if c.what == "whole" || gerr == nil {
							t.Errorf("%s %s shrink %d scale %v: direct error %v, engine over libvips error %v", name, c.what, shrink, sc, gerr, werr)
						}
					default:
						taken++
						g, w := pixelsOf(t, got), pixelsOf(t, want)
						if d, at := maxDiff(g, w); d != 0 || len(g) != len(w) {
							t.Errorf("%s %s shrink %d scale %v: max diff %d at %d (%d vs %d samples)", name, c.what, shrink, sc, d, at, len(g), len(w))
						}
					}
					got.Close()
					want.Close()
				}
			}
		}
	}
	if taken < 60 {
		t.Errorf("only %d direct decodes compared", taken)
	}
	t.Logf("%d direct decodes equal the engine over libvips' decode", taken)
}

func pixelsOf(t *testing.T, img *vips.Image) []byte {
	t.Helper()
	b := make([]byte, img.Width()*img.Height()*img.Bands())
	if err := img.WritePixels(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestJPEGEighthEqualsLibjpeg: the 1/8-scale decoder (vips.DecodeJPEGEighth)
// gives libjpeg's pixels (libvips' jpegload at shrink 8) for every file it
// takes, takes the kinds it is for (baseline 4:2:0, 4:4:4, grey, every
// component alike, restart intervals), and refuses the rest, which
// ResampleJPEG leaves to libjpeg.
func TestJPEGEighthEqualsLibjpeg(t *testing.T) {
	files := decoderFiles(t)
	names, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "jpegdc", "*.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		files["jpegdc/"+filepath.Base(n)] = b
	}
	refused := map[string]bool{
		"jpegdc/subsample-422.jpg": true, "jpegdc/arithmetic.jpg": true,
		"jpegdc/progressive.jpg": true, "jpegdc/rgb.jpg": true, "gen-progressive.jpg": true,
	}
	taken := 0
	for name, data := range files {
		h, err := vips.Probe(data)
		if err != nil || h.Format != format.JPEG {
			continue
		}
		got, err := vips.DecodeJPEGEighth(data, h)
		if refused[name] {
			if err == nil {
				t.Errorf("%s: taken, want refused", name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v, want taken", name, err)
			continue
		}
		taken++
		img, err := vips.Load(data, vips.LoadOptions{Shrink: 8})
		if err != nil {
			t.Fatal(err)
		}
		want := pixelsOf(t, img)
		w, ht, bands := img.Width(), img.Height(), img.Bands()
		img.Close()
		stride := (h.Width + 7) / 8 * bands
		for y := range ht {
			g, wr := got[y*stride:][:w*bands], want[y*w*bands:][:w*bands]
			if d, at := maxDiff(g, wr); d != 0 {
				t.Errorf("%s: row %d: max diff %d at sample %d (%d vs libjpeg %d)", name, y, d, at, g[at], wr[at])
				break
			}
		}
		// The data cut short must be refused, never decoded into made-up
		// pixels.
		if _, err := vips.DecodeJPEGEighth(data[:len(data)*3/4], h); err == nil {
			t.Errorf("%s cut to 3/4: taken, want refused", name)
		}
	}
	if taken < 20 {
		t.Errorf("only %d files taken", taken)
	}
}
