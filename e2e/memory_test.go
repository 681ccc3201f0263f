package e2e

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

// memoryLimit is the cgroup limit TestMemoryLimit runs the sidecar under,
// and memoryPeak what its peak RSS must stay below (the target for
// eight concurrent 40-megapixel PNGs with a 512 MiB budget).
const (
	memoryLimit = 768 << 20
	memoryPeak  = 700 << 20
)

// TestMemoryLimit runs the built sidecar in a memory cgroup of 768 MiB
// with PICTOR_MEMORY_BUDGET=512MiB and sends it, all at once, eight
// distinct 40-megapixel 16-bit RGBA PNGs (about 330 MB each decoded whole)
// and four distinct 30-megapixel JPEGs, two of them progressive: more than
// four times the limit if all were decoded in memory together. Every answer
// must be 200, 429 or 503, the process must never be killed, and its peak
// RSS must stay under 700 MiB.
func TestMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: twelve large transforms for about 20 s; make test (no -short) runs it")
	}
	cg, err := newMemoryCgroup(t, memoryLimit)
	if err != nil {
		t.Skipf("no memory cgroup to run under (%v): it needs root and a writable cgroup v1 or v2 memory controller, as make test has on the dev machine and CI, where it runs", err)
	}
	in := start(t, "PICTOR_MEMORY_BUDGET=512MiB", "PICTOR_TIMEOUT=20s", "PICTOR_WORKERS=2")
	pid := in.cmd.Process.Pid
	if err := cg.add(pid); err != nil {
		t.Fatal(err)
	}

	png, err := os.ReadFile("../testdata/large/rgba16-6400.png")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range 8 {
		keys = append(keys, in.uploadKey(fmt.Sprintf("big-%d.png", i), withTextChunk(png, fmt.Sprintf("copy %d", i))))
	}
	for i := range 4 {
		keys = append(keys, in.uploadKey(fmt.Sprintf("big-%d.jpg", i), largeJPEG(t, i, i%2 == 1)))
	}
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Logf("peak RSS not reset (%v): it includes the uploads", err)
	}

	began := time.Now()
	statuses := make([]int, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() { statuses[i] = in.get(in.signed("w_200,f_webp", key)).status })
	}
	wg.Wait()
	took := time.Since(began)
	in.alive()
	if in.cmd.ProcessState != nil {
		t.Fatalf("pictor exited: %v", in.cmd.ProcessState)
	}
	_, hwm := procMemory(t, pid)
	counts := map[int]int{}
	for i, s := range statuses {
		counts[s]++
		if s != 200 && s != 429 && s != 503 {
			t.Errorf("transform of %s: %d, want 200, 429 or 503", keys[i], s)
		}
	}
	t.Logf("%d large transforms at once under a %d MiB cgroup with a 512 MiB budget: %s in %v; peak RSS %d MiB; cgroup peak %d MiB, OOM events %d",
		len(keys), memoryLimit>>20, statusCounts(counts), took.Round(100*time.Millisecond), hwm>>20, cg.peak()>>20, cg.ooms())
	if counts[200] == 0 {
		t.Errorf("no transform succeeded")
	}
	if hwm >= memoryPeak {
		t.Errorf("peak RSS %d MiB, want under %d MiB", hwm>>20, memoryPeak>>20)
	}
	if n := cg.ooms(); n > 0 {
		t.Errorf("the cgroup reports %d out-of-memory events", n)
	}
}

// withTextChunk returns png with a tEXt chunk after IHDR: the same pixels
// under another key.
func withTextChunk(png []byte, text string) []byte {
	data := append([]byte("Comment\x00"), text...)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	const ihdrEnd = 8 + 25 // signature, then IHDR's length, type, 13 bytes and CRC
	return append(append(append([]byte(nil), png[:ihdrEnd]...), chunk...), png[ihdrEnd:]...)
}

// largeJPEG is a 6400×4800 JPEG made by libvips from a small gradient
// (seed makes each distinct), baseline or progressive.
func largeJPEG(t *testing.T, seed int, progressive bool) []byte {
	t.Helper()
	const w, h = 64, 48
	pix := make([]byte, w*h*3)
	for i := range pix {
		pix[i] = byte(i*7 + seed*31)
	}
	small, err := vips.FromPixels(pix, w, h, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	big, err := small.Resize(100, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	body, err := big.Save(vips.SaveOptions{Format: format.JPEG, Quality: 85, Progressive: progressive})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// memoryCgroup is a memory cgroup made for one test and removed after it.
type memoryCgroup struct {
	dir string
	v2  bool
}

// newMemoryCgroup makes a cgroup limited to limit bytes, under the cgroup
// v2 root when it has the memory controller, else under v1's memory
// hierarchy.
func newMemoryCgroup(t *testing.T, limit int64) (*memoryCgroup, error) {
	name := fmt.Sprintf("pictor-e2e-%d", os.Getpid())
	cg := &memoryCgroup{}
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.subtree_control"); err == nil && strings.Contains(string(b), "memory") {
		cg.dir, cg.v2 = filepath.Join("/sys/fs/cgroup", name), true
	} else if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err == nil {
		cg.dir = filepath.Join("/sys/fs/cgroup/memory", name)
	} else {
		return nil, fmt.Errorf("neither a v2 memory controller nor a v1 memory hierarchy under /sys/fs/cgroup")
	}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		// The process has been stopped by then (Cleanup runs last in, first
		// out, and start registered its stop after this).
		for range 50 {
			if os.Remove(cg.dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	file, value := "memory.limit_in_bytes", strconv.FormatInt(limit, 10)
	if cg.v2 {
		file = "memory.max"
	}
	if err := os.WriteFile(filepath.Join(cg.dir, file), []byte(value), 0); err != nil {
		return nil, err
	}
	if !cg.v2 {
		// Without swap accounting the write fails; the limit above holds.
		_ = os.WriteFile(filepath.Join(cg.dir, "memory.memsw.limit_in_bytes"), []byte(value), 0)
	}
	return cg, nil
}

func (cg *memoryCgroup) add(pid int) error {
	return os.WriteFile(filepath.Join(cg.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

// peak is the cgroup's peak memory use (page cache included), 0 when the
// kernel does not say.
func (cg *memoryCgroup) peak() int64 {
	file := "memory.max_usage_in_bytes"
	if cg.v2 {
		file = "memory.peak"
	}
	b, _ := os.ReadFile(filepath.Join(cg.dir, file))
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// ooms is how many times the cgroup hit its limit and killed or would
// have killed (v2 memory.events oom_kill; v1 memory.oom_control oom_kill).
func (cg *memoryCgroup) ooms() int {
	file := "memory.oom_control"
	if cg.v2 {
		file = "memory.events"
	}
	b, _ := os.ReadFile(filepath.Join(cg.dir, file))
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
