package vips

import "fmt"

// maxConcurrency is libvips' own ceiling on worker threads (VIPS_MAX_THREADS
// in threadpool.c); vips_concurrency_set clips larger values silently.
const maxConcurrency = 1024

// Config holds the process-wide libvips settings applied by Startup.
type Config struct {
	// Concurrency is the number of threads libvips uses per image.
	// Default 1: Pictor parallelises across requests, not within one, and
	// more threads per image only add contention once every core is busy
	// with its own request.
	Concurrency int
}

// DefaultConfig returns the settings Pictor runs with unless told
// otherwise.
func DefaultConfig() Config {
	return Config{Concurrency: 1}
}

// Validate reports the first setting that is out of range.
func (c Config) Validate() error {
	if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
		return fmt.Errorf("vips: concurrency %d outside 1..%d", c.Concurrency, maxConcurrency)
	}
	return nil
}
