// Package device is the bounded queue in front of Pictor's resize backends:
// a GPU (CUDA, loaded at run time) and libvips on the CPU. Queue implements
// transform.Resizer, so the pipeline's resize step goes through it.
//
// A resize comes in as a lazy libvips image and two scale factors. Resize
// decides on the caller's goroutine, without blocking, where it runs:
//
//	no device, or dead           → CPU
//	not uchar, not 1–4 bands,
//	enlarging on an axis         → CPU (the kernels restate only the
//	                                downscale; see internal/resample)
//	fewer than MinPixels         → CPU (too small to pay for two copies)
//	Capacity jobs already queued → CPU (the queue never blocks)
//	otherwise                    → decode into a buffer here, queue the job,
//	                                wait for the result or the context
//
// Each of the device's streams has one worker goroutine on a locked OS
// thread with the CUDA context current, pinned host and device buffers
// reused across jobs, and runs one job at a time: copy in, the kernels of
// the job's plan, copy out. A job whose context is cancelled while it
// waits is dropped unrun. Any CUDA error marks the device dead; that job
// and every later one go to the CPU, and no request fails for it.
//
// Bit-exactness. The device runs the plan of internal/resample, which
// equals vips_resize byte for byte given the tile geometry libvips
// computes the result in (vips.Image.TileSize), because reducev and
// reduceh compute sampling positions by addition from the start of each
// region. A device result is memory, so its pixels do not depend on what
// follows the resize; a lazy libvips result does, at a few positions of a
// few scale factors (the plan calls those unsettled). With
// Config.Deterministic (the default) the queue therefore also computes CPU
// results into memory, in libvips' own geometry, and every result equals
// every other whichever backend made it. Without it, CPU results stay lazy
// (exactly transform.CPUResizer's) and unsettled plans stay on the CPU.
//
// State and the metrics (Collectors) report on the device for /readyz and
// /metrics.
package device
