package device

import "fmt"

// Mode says whether the queue uses a GPU: PICTOR_GPU.
type Mode string

// The modes.
const (
	// ModeOff never looks for a GPU; everything runs on the CPU.
	ModeOff Mode = "off"
	// ModeAuto uses a GPU when one is found and works.
	ModeAuto Mode = "auto"
	// ModeRequire fails Open when no GPU is found, and Ready reports an
	// error once the device has died.
	ModeRequire Mode = "require"
)

// Config holds the queue's settings.
type Config struct {
	// Mode is off, auto or require. Default auto.
	Mode Mode
	// Capacity is how many jobs may be on the device at once, waiting or
	// running; a job that finds it full runs on the CPU. Default 16: enough
	// to keep a few streams busy while callers decode their next inputs,
	// few enough that the decoded inputs held for it (up to Capacity ×
	// the largest source, 200 MB for a 50 MP RGBA one) stay bounded.
	Capacity int
	// Streams is the number of CUDA streams, each with its own worker
	// goroutine and buffers. Default 2: one copying while one computes.
	Streams int
	// MinPixels is the smallest source, width × height, sent to the device.
	// Default 1,000,000: below about a megapixel libvips' resize takes a few
	// milliseconds, which two PCIe copies and a queue hand-off eat up.
	MinPixels int64
	// Library is the path of libcuda.so.1 to load; empty searches the usual
	// places (see cudaLibraries). Default empty.
	Library string
	// Ordinal is the CUDA device number. Default 0.
	Ordinal int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Mode:      ModeAuto,
		Capacity:  16,
		Streams:   2,
		MinPixels: 1_000_000,
	}
}

// maxStreams bounds Streams: each holds pinned and device buffers for the
// largest image it has seen, and past a few the copy engines are the limit.
const maxStreams = 64

// Validate reports the first setting out of range.
func (c Config) Validate() error {
	switch {
	case c.Mode != ModeOff && c.Mode != ModeAuto && c.Mode != ModeRequire:
		return fmt.Errorf("device: mode %q, want off, auto or require", c.Mode)
	case c.Capacity < 1:
		return fmt.Errorf("device: capacity %d, want >= 1", c.Capacity)
	case c.Streams < 1 || c.Streams > maxStreams:
		return fmt.Errorf("device: %d streams, want 1..%d", c.Streams, maxStreams)
	case c.MinPixels < 0:
		return fmt.Errorf("device: MinPixels %d, want >= 0", c.MinPixels)
	case c.Ordinal < 0:
		return fmt.Errorf("device: ordinal %d, want >= 0", c.Ordinal)
	}
	return nil
}
