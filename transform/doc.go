// Package transform makes variants: it turns an original's bytes and a
// parsed set of options into encoded output bytes.
//
// Data flows one way through a Processor's pipeline, a list of small steps
// with a deadline check between each:
//
//	probe (header only, pixel limit) → plan (target geometry, shrink-on-load
//	factor) → load (JPEG shrink / WebP scale) → orient (EXIF) → sRGB →
//	e_trim (and plan again) → resize, with the a_ turn → crop / pad by c_
//	(b_blur) → effects → layers (l_, wm_1) → border → corners → encode
//	(JPEG flattened onto b_)
//
// Image layers are other originals, read through an OverlaySource and kept
// decoded in the decoded-original cache like any decode; text layers are
// rendered by libvips' Pango text with the text escaped. The resize is the
// only step a Resizer (the GPU) may do; everything after it runs on the
// CPU. Placeholder computes an original's BlurHash and dominant colour
// from a decode already made.
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
