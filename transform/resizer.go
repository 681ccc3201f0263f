package transform

import (
	"context"

	"github.com/pictorhq/pictor/transform/internal/resample"
	"github.com/pictorhq/pictor/transform/vips"
)

// Resizer performs the pipeline's resize step: scale img by hscale
// horizontally and vscale vertically with libvips' Lanczos3 resize
// (vips_resize semantics, alpha premultiplied). The device queue
// (transform/device) implements it by sending the job to a GPU or to
// libvips on the CPU; every implementation must return the same pixels as
// CPUResizer, which is the oracle.
//
// Resize must not close img; the caller does.
type Resizer interface {
	Resize(ctx context.Context, img *vips.Image, hscale, vscale float64) (*vips.Image, error)
}

// CPUResizer resizes on the CPU in the calling goroutine. A downscale of
// a uchar image of 1 to 4 bands, nearly every resize the pipeline makes,
// runs Pictor's resize engine (vips.Image.Resample): the plan of
// transform/internal/resample, vips_resize's Lanczos3 restated step by
// step, computed in one pass as the source rows are decoded, into memory.
// Its result equals the Go reference and the GPU kernels byte for byte,
// and vips_resize's too but for the few positions where libvips' own
// result depends on the regions it is asked for (resample.Plan.Settled).
// Anything else (an enlargement, 16-bit or float samples) goes to
// vips_resize.
type CPUResizer struct{}

// Resize implements Resizer.
func (CPUResizer) Resize(_ context.Context, img *vips.Image, hscale, vscale float64) (*vips.Image, error) {
	if p := EnginePlan(img, hscale, vscale); p != nil {
		return img.Resample(p.Engine())
	}
	return img.Resize(hscale, vscale)
}

// EnginePlan is the plan the resize engine and the GPU kernels compute for
// a resize of img, or nil where neither applies (see CPUResizer). Every
// backend plans with it, so that all of them make the same pixels.
func EnginePlan(img *vips.Image, hscale, vscale float64) *resample.Plan {
	bands := img.Bands()
	if img.BandFormat() != "uchar" || bands < 1 || bands > 4 {
		return nil
	}
	p, err := resample.NewPlan(img.Width(), img.Height(), bands, img.HasAlpha(), hscale, vscale, resample.Geometry{})
	if err != nil {
		return nil
	}
	return p
}

// ReadsOnce implements OnceReader: the engine and vips_resize read their
// input top to bottom, once.
func (CPUResizer) ReadsOnce() bool { return true }

// OnceReader is implemented by a Resizer that reads its input's pixels at
// most once, top to bottom, so the pipeline may hand it a sequentially
// decoded (streamed) image. A Resizer without it gets the decode in memory.
type OnceReader interface {
	ReadsOnce() bool
}
