package device

import (
	"sync"
	"time"

	"github.com/pictorhq/pictor/transform/internal/resample"
)

// Fake is a device for tests without a GPU: its streams compute with the
// Go reference (so results are right), after a settable latency, and fail
// when told to. It exercises the queue's bounding, fallback, cancellation
// and dead-device paths.
type Fake struct {
	// NStreams is the number of streams; 0 means 1.
	NStreams int

	mu      sync.Mutex
	latency time.Duration
	fail    int // fail the next fail jobs; -1 fails every job
	err     error
	ran     int
	started chan struct{}
}

// NewFake returns a fake device with n streams.
func NewFake(n int) *Fake { return &Fake{NStreams: n, started: make(chan struct{}, 1024)} }

// SetLatency makes every job take at least d.
func (f *Fake) SetLatency(d time.Duration) {
	f.mu.Lock()
	f.latency = d
	f.mu.Unlock()
}

// FailNext makes the next n jobs fail with err (n < 0: every job).
func (f *Fake) FailNext(n int, err error) {
	f.mu.Lock()
	f.fail, f.err = n, err
	f.mu.Unlock()
}

// Ran is the number of jobs the fake has run, failed ones included.
func (f *Fake) Ran() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ran
}

// Started receives a value each time a job starts on a stream.
func (f *Fake) Started() <-chan struct{} { return f.started }

// Name implements Device.
func (f *Fake) Name() string { return "fake" }

// Streams implements Device.
func (f *Fake) Streams() int { return max(1, f.NStreams) }

// OpenStream implements Device.
func (f *Fake) OpenStream(int) (Stream, error) { return &fakeStream{f: f}, nil }

// Close implements Device.
func (f *Fake) Close() error { return nil }

type fakeStream struct {
	f *Fake
	t Timings
}

func (s *fakeStream) Resize(p *resample.Plan, src []byte) ([]byte, error) {
	f := s.f
	f.mu.Lock()
	f.ran++
	latency, err := f.latency, error(nil)
	if f.fail != 0 {
		err = f.err
		if f.fail > 0 {
			f.fail--
		}
	}
	f.mu.Unlock()
	select {
	case f.started <- struct{}{}:
	default:
	}
	start := time.Now()
	time.Sleep(latency)
	if err != nil {
		return nil, err
	}
	out, err := resample.Reference(p, src)
	s.t = Timings{Kernels: time.Since(start)}
	return out, err
}

func (s *fakeStream) Timings() Timings { return s.t }
func (s *fakeStream) Close() error     { return nil }
