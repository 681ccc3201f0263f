package vips

/*
#include <vips/vips.h>

static VipsImage *
pictor_ref(VipsImage *im)
{
	g_object_ref(im);
	return im;
}

// pictor_copy_memory renders im into a memory buffer now, so that the
// result holds pixels instead of a pipeline back to the source.
static int
pictor_copy_memory(VipsImage *in, VipsImage **out)
{
	*out = vips_image_copy_memory(in);
	return *out == NULL ? -1 : 0;
}

static size_t
pictor_sizeof_image(VipsImage *im)
{
	return VIPS_IMAGE_SIZEOF_IMAGE(im);
}
*/
import "C"

import "runtime"

// Ref returns a second handle on the same image. Each handle is closed on
// its own; the pixels live until the last is closed. This is how a decoded
// original is shared: libvips images are immutable once built and safe to
// read from many pipelines at once.
func (im *Image) Ref() *Image {
	if im == nil || im.p == nil {
		return nil
	}
	defer runtime.KeepAlive(im)
	return wrap(C.pictor_ref(im.p))
}

// CopyMemory evaluates im's pipeline now, decoding the source, and returns
// an image backed by the resulting pixels in memory. Operations on it read
// memory instead of running the decode again.
func (im *Image) CopyMemory() (*Image, error) {
	return im.apply("copy_memory", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_copy_memory(in, out)
	})
}

// MemoryBytes is the size of im's pixels when held in memory: width ×
// height × bands × bytes per band value.
func (im *Image) MemoryBytes() int64 {
	if im == nil || im.p == nil {
		return 0
	}
	defer runtime.KeepAlive(im)
	return int64(C.pictor_sizeof_image(im.p))
}
