package transform

import (
	"context"

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

// CPUResizer resizes with vips_resize in the calling goroutine.
type CPUResizer struct{}

// Resize implements Resizer.
func (CPUResizer) Resize(_ context.Context, img *vips.Image, hscale, vscale float64) (*vips.Image, error) {
	return img.Resize(hscale, vscale)
}

// ReadsOnce implements OnceReader: vips_resize reads its input top to
// bottom, once.
func (CPUResizer) ReadsOnce() bool { return true }

// OnceReader is implemented by a Resizer that reads its input's pixels at
// most once, top to bottom, so the pipeline may hand it a sequentially
// decoded (streamed) image. A Resizer without it gets the decode in memory.
type OnceReader interface {
	ReadsOnce() bool
}
