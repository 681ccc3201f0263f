package transform

import (
	"fmt"

	"github.com/pictorhq/pictor/transform/format"
)

// Config holds the pipeline's limits and encoder defaults.
type Config struct {
	// MaxPixels is the largest source (width × height) the pipeline will
	// decode, checked from the header. Default 50 MP.
	MaxPixels int64
	// MaxDimension is the largest output width or height in pixels, after
	// dpr_. Default 8192, the same bound as the option grammar.
	MaxDimension int
	// MaxOutputPixels caps width × height of the output. Default 50 MP: an
	// output larger than any accepted source is never a useful web image.
	MaxOutputPixels int64
	// MaxFrames is the most frames an animated GIF or WebP may hold
	// (PICTOR_MAX_FRAMES), checked from the header; MaxPixels then counts
	// the pixels of every frame. Default 200, about eight seconds at 25
	// frames a second; at most 4096, the most libvips' GIF loader reads.
	MaxFrames int
	// Progressive makes JPEG output progressive. Default false: it costs
	// about a fifth more encode CPU for thumbnails that load at once anyway.
	Progressive bool
	// AutoWidthStep is what w_auto rounds a hinted width up to a multiple
	// of, in pixels, so that one variant serves every width within a step
	// and caches hold at most MaxDimension/AutoWidthStep widths of an
	// image. Default 100.
	AutoWidthStep int
}

// FramesCeiling is the ceiling on Config.MaxFrames: libvips 8.14's GIF loader
// stops counting at 4096 frames (it warns "Excessive number of frames" and
// reports 4097), so a larger limit could not be told from the header.
const FramesCeiling = 4096

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		MaxPixels:       50_000_000,
		MaxDimension:    8192,
		MaxOutputPixels: 50_000_000,
		MaxFrames:       200,
		AutoWidthStep:   100,
	}
}

// Validate reports a setting out of range.
func (c Config) Validate() error {
	switch {
	case c.MaxPixels < 1:
		return fmt.Errorf("transform: MaxPixels = %d, want >= 1", c.MaxPixels)
	case c.MaxDimension < 1:
		return fmt.Errorf("transform: MaxDimension = %d, want >= 1", c.MaxDimension)
	case c.MaxOutputPixels < 1:
		return fmt.Errorf("transform: MaxOutputPixels = %d, want >= 1", c.MaxOutputPixels)
	case c.MaxFrames < 1 || c.MaxFrames > FramesCeiling:
		return fmt.Errorf("transform: MaxFrames = %d, want 1..%d", c.MaxFrames, FramesCeiling)
	case c.AutoWidthStep < 1 || c.AutoWidthStep > c.MaxDimension:
		return fmt.Errorf("transform: AutoWidthStep = %d, want 1..MaxDimension (%d)", c.AutoWidthStep, c.MaxDimension)
	}
	return nil
}

// quality is the encoder quality for q_ unset or q_auto. The Save-Data
// figures are where JPEG and WebP artefacts start to show on photos at 1×;
// AVIF holds up lower for the same look. JPEG XL's scale is its own
// (libvips maps it to a Butteraugli distance): 75 is libvips' default.
func quality(f format.Format, auto, saveData bool) int {
	if !auto {
		return 0 // the encoder's default (see vips.SaveOptions)
	}
	switch f {
	case format.JPEG, format.WebP:
		if saveData {
			return 55
		}
		return 80
	case format.AVIF:
		if saveData {
			return 40
		}
		return 60
	case format.JXL:
		if saveData {
			return 55
		}
		return 75
	}
	return 0
}
