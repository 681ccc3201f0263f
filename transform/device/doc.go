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
// Bit-exactness. The device runs the plan of transform/internal/resample
// that the CPU's resize engine computes too (transform.EnginePlan,
// transform.CPUResizer): every result is memory and equals every other,
// whichever backend made it, byte for byte. The plan restates
// vips_resize and equals it but where libvips' own result depends on the
// regions it is computed in (reducev and reduceh compute sampling
// positions by addition from the start of each region; the plan calls
// those positions unsettled).
//
// State and the metrics (Collectors) report on the device for /readyz and
// /metrics.
package device
