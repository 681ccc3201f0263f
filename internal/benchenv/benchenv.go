// Package benchenv is what Pictor's benchmarks share: where the real photos
// are, and how much CPU the process has used.
package benchenv

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Corpus returns the directory `make corpus` fills with real photos
// ($PICTOR_BENCH_CORPUS, or data/bench-corpus beside the repository root
// given relative to the calling package), or skips the benchmark with the
// command that fetches them.
func Corpus(b testing.TB, repoRoot string) string {
	b.Helper()
	dir := os.Getenv("PICTOR_BENCH_CORPUS")
	if dir == "" {
		dir = filepath.Join(repoRoot, "data", "bench-corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "photo-3840x2400.jpg")); err != nil {
		b.Skipf("bench corpus not found in %s: run `make corpus` (fetches Debian's ukui-wallpapers) or set PICTOR_BENCH_CORPUS; `make bench-components` runs this with it", dir)
	}
	return dir
}

// CPUTime is the CPU time (user + system) this process has used.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
