package device

import (
	"time"

	"github.com/pictorhq/pictor/transform/internal/resample"
)

// Device is a GPU, or a stand-in for one, that runs resize plans on a
// number of streams.
type Device interface {
	// Name is the backend's label in metrics: "cuda", "fake", ….
	Name() string
	// Streams is the number of streams the queue may open.
	Streams() int
	// OpenStream prepares stream i. The queue calls it on the stream's
	// worker goroutine, which has locked its OS thread and makes every
	// later call on the stream.
	OpenStream(i int) (Stream, error)
	// Close releases the device after every stream is closed.
	Close() error
}

// Stream runs one job at a time.
type Stream interface {
	// Resize runs p on src (p.InBytes() samples) and returns the output
	// samples, valid until the next call on the stream. An error means the
	// device can no longer be trusted.
	Resize(p *resample.Plan, src []byte) ([]byte, error)
	// Timings is the time the last Resize spent in each phase.
	Timings() Timings
	Close() error
}

// Timings splits a job's device time into its phases, measured on the
// device where it can (CUDA events).
type Timings struct {
	HostToDevice time.Duration // input and tables, pinned host to device
	Kernels      time.Duration // every kernel of the plan
	DeviceToHost time.Duration // output, device to pinned host
}
