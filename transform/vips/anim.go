package vips

/*
#include "bridge.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// maxDelays bounds the frame delays read back from an image: more than
// any animation Pictor admits (transform.Config.MaxFrames is at most
// 4096, the most frames libvips' GIF loader reads).
const maxDelays = 1 << 13

// Animation describes the frames of an image loaded with several pages
// (LoadOptions.Pages): libvips holds them as one tall image, frames of
// PageHeight stacked top to bottom.
type Animation struct {
	// PageHeight is the height of one frame; the image height is a whole
	// multiple of it.
	PageHeight int
	// Delays is how long each frame shows, in milliseconds, one per frame
	// (the loaders' "delay"); empty when the source gave none.
	Delays []int
	// Loop is how many times the animation plays; 0 means forever.
	Loop int
}

// Frames is how many frames a of an image h pixels high holds.
func (a Animation) Frames(h int) int {
	if a.PageHeight < 1 {
		return 1
	}
	return h / a.PageHeight
}

// Animation reads the frame layout, delays and loop count the loader
// set. A still image has PageHeight equal to its height and one frame.
func (im *Image) Animation() Animation {
	if im == nil || im.p == nil {
		return Animation{}
	}
	defer runtime.KeepAlive(im)
	a := Animation{PageHeight: int(C.pictor_page_height(im.p)), Loop: int(C.pictor_loop(im.p))}
	n := min(int(C.pictor_delays(im.p, nil, 0)), maxDelays)
	if n > 0 {
		buf := make([]C.int, n)
		n = min(n, int(C.pictor_delays(im.p, &buf[0], C.int(n))))
		a.Delays = make([]int, n)
		for i := range a.Delays {
			a.Delays[i] = int(buf[i])
		}
	}
	return a
}

// SplitFrames cuts an image into frames of pageHeight, top to bottom. The
// frames share im's pixels; each is closed on its own.
func (im *Image) SplitFrames(pageHeight int) ([]*Image, error) {
	h := im.Height()
	if pageHeight < 1 || h%pageHeight != 0 {
		return nil, &Error{Op: "split_frames", Msg: fmt.Sprintf("page height %d does not divide %d", pageHeight, h)}
	}
	frames := make([]*Image, 0, h/pageHeight)
	for y := 0; y < h; y += pageHeight {
		f, err := im.ExtractArea(0, y, im.Width(), pageHeight)
		if err != nil {
			CloseAll(frames)
			return nil, err
		}
		frames = append(frames, f)
	}
	return frames, nil
}

// JoinFrames stacks frames of one size top to bottom into one image, the
// inverse of SplitFrames. The frames stay open; the result holds what it
// needs of them.
func JoinFrames(frames []*Image) (*Image, error) {
	if len(frames) == 0 {
		return nil, &Error{Op: "join_frames", Msg: "no frames"}
	}
	w, h := frames[0].Width(), frames[0].Height()
	in := make([]*C.VipsImage, len(frames))
	for i, f := range frames {
		if f == nil || f.p == nil {
			return nil, ErrClosed
		}
		if f.Width() != w || f.Height() != h {
			return nil, &Error{Op: "join_frames", Msg: fmt.Sprintf("frame %d is %d×%d, frame 0 %d×%d", i, f.Width(), f.Height(), w, h)}
		}
		in[i] = f.p
	}
	// in lives in C-visible memory for the call only: cgo lets C read a Go
	// slice of C pointers while the call runs.
	var out *C.VipsImage
	r := C.pictor_join_frames((**C.VipsImage)(unsafe.Pointer(&in[0])), C.int(len(in)), &out)
	runtime.KeepAlive(frames)
	if r != 0 {
		return nil, lastError("join_frames")
	}
	return wrap(out), nil
}

// CloseAll closes every image in ims.
func CloseAll(ims []*Image) {
	for _, im := range ims {
		im.Close()
	}
}
