// Package vips is Pictor's own thin cgo binding to libvips 8.14: the
// handful of loaders, operations and savers the transform pipeline calls,
// and nothing else.
//
// Startup initialises libvips once per process with the operation cache off
// and every loader blocked except JPEG, PNG, WebP, GIF and HEIF (AVIF and
// HEIC), so that untrusted bytes can never reach the SVG, PDF, TIFF,
// JPEG XL or ImageMagick code. Of the savers, JPEG XL's is unblocked by
// name: libvips 8.14 flags all of libjxl untrusted.
// Probe reads a header without decoding pixels. Load copies the bytes into C
// memory owned by the image it returns and decodes them lazily: pixels are
// computed only when Save pulls them through the chain of operations
// (AutoRotate, ToSRGB, Resize, …). Every operation returns a new *Image that
// holds libvips references to its inputs, so the caller may Close images in
// any order; each must be closed exactly once (Close is idempotent).
//
// An animated GIF or WebP loads with every frame stacked top to bottom
// (LoadOptions.Pages -1), its frame height, delays and loop count read by
// Image.Animation; SplitFrames and JoinFrames cut the stack apart and join
// it again, and SaveOptions.Animation writes it back as an animation.
//
// An *Image is immutable and may be the input of operations running on
// several goroutines at once, as when one decoded original feeds several
// variants; Close it after all of them have returned. Failures are *Error
// values carrying libvips' message. libvips 8.14 keeps one process-wide
// error buffer, so under concurrent failures a message can occasionally
// carry another call's text or none; the Op field is always this call's.
package vips
