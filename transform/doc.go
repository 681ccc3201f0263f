// Package transform makes variants: it turns an original's bytes and a
// parsed set of options into encoded output bytes.
//
// Data flows one way through a Processor's pipeline, a list of small steps
// with a deadline check between each:
//
//	probe (header only, pixel limit) → plan (target geometry, shrink-on-load
//	factor) → load (JPEG shrink / WebP scale) → orient (EXIF) → sRGB →
//	resize / crop / pad by c_ → effects → encode (JPEG flattened onto b_)
//
// An animated GIF or WebP going to GIF or WebP is loaded with every frame
// stacked top to bottom (libvips' layout); the frame and pixel limits count
// every frame from the header. Its frames are resized in one pass over the
// stack, on the CPU, then cut apart for crops, pads and effects and joined
// again; delays and loop count go to the encoder (runVariant, eachFrame).
// Any other output, or pg_, takes one frame.
//
// The package also decides what a request's output is before any pixel is
// touched (Negotiate: f_auto from Accept, q_auto from Save-Data and ECT;
// ResolveHints: w_auto and dpr_auto from client hints) and names the
// variant for caches (VariantKey). It never speaks HTTP: errors are
// package values and types that the server maps to statuses.
package transform
