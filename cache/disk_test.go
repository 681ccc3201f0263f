package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// newTestDisk opens a disk tier on cfg, in a fresh directory unless cfg.Dir
// is set, with the other settings defaulted, waits for its start-up scan
// and closes it when the test ends.
func newTestDisk(t testing.TB, cfg DiskConfig) *Disk {
	t.Helper()
	def := DefaultDiskConfig()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.FullCooldown == 0 {
		cfg.FullCooldown = def.FullCooldown
	}
	if cfg.ScanTimeout == 0 {
		cfg.ScanTimeout = def.ScanTimeout
	}
	d, err := NewDisk(cfg, nil)
	if err != nil {
		t.Fatalf("NewDisk(%+v) = %v", cfg, err)
	}
	t.Cleanup(d.Close)
	<-d.scanDone
	return d
}

// walkDisk lists the regular files under dir, except the temporary
// directory's, and fails on anything else that is not a directory.
func walkDisk(t testing.TB, dir string) (files map[string]int64, tmp []string) {
	t.Helper()
	files = make(map[string]int64)
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		switch {
		case e.IsDir():
			return nil
		case strings.HasPrefix(rel, diskTmpDir+"/"):
			tmp = append(tmp, rel)
			return nil
		case !e.Type().IsRegular():
			t.Errorf("%s under the cache directory is neither a file nor a directory", rel)
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		files[rel] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return files, tmp
}

// checkIndexMatchesDisk fails unless every file under the tier's directory
// is indexed under its name and every index entry has its file, and the
// charged total is the sum of the entries'.
func checkIndexMatchesDisk(t testing.TB, d *Disk) {
	t.Helper()
	files, _ := walkDisk(t, d.cfg.Dir)
	d.mu.Lock()
	defer d.mu.Unlock()
	indexed := make(map[string]bool, d.lru.Len())
	var charged int64
	for _, vkey := range d.lru.Keys() {
		it, _ := d.lru.Peek(vkey)
		rel := string(it.appendRel(nil, vkey))
		indexed[rel] = true
		charged += it.charge()
		size, ok := files[rel]
		switch {
		case !ok:
			t.Errorf("index entry %s has no file", rel)
		case size != it.size && it.verified.Load():
			t.Errorf("%s: %d bytes on disk, a verified entry of %d", rel, size, it.size)
		}
	}
	for rel := range files {
		if !indexed[rel] {
			t.Errorf("file %s is not indexed", rel)
		}
	}
	if charged != d.used {
		t.Errorf("index charges %d bytes in all, the tier counts %d", charged, d.used)
	}
}

// testOrig and testVkey name an original and a variant for the disk tests.
func testOrig(i int) string { return suiteOrig(i) }
func testVkey(i int) string { return suiteVkey(i) }

func TestDiskConfig(t *testing.T) {
	def := DefaultDiskConfig()
	if def.MaxBytes != 10<<30 || def.Dir == "" || def.ScanTimeout <= 0 || def.FullCooldown != 30*time.Second {
		t.Errorf("DefaultDiskConfig() = %+v, want 10 GiB, a directory, a scan bound and a 30 s cooldown", def)
	}
	if err := def.Validate(); err != nil {
		t.Errorf("DefaultDiskConfig().Validate() = %v", err)
	}
	for _, tt := range []struct {
		name string
		edit func(*DiskConfig)
		want error
	}{
		{"default", func(*DiskConfig) {}, nil},
		{"negative budget", func(c *DiskConfig) { c.MaxBytes = -1 }, errDiskNegativeBudget},
		{"no directory", func(c *DiskConfig) { c.Dir = "" }, errDiskNoDir},
		{"disabled needs no directory", func(c *DiskConfig) { c.Dir, c.MaxBytes = "", 0 }, nil},
		{"background scan", func(c *DiskConfig) { c.ScanTimeout = 0 }, nil},
		{"negative scan bound", func(c *DiskConfig) { c.ScanTimeout = -time.Second }, errDiskScanTimeout},
		{"no cooldown", func(c *DiskConfig) { c.FullCooldown = 0 }, errDiskFullCooldown},
	} {
		c := DefaultDiskConfig()
		tt.edit(&c)
		if err := c.Validate(); err != tt.want {
			t.Errorf("%s: Validate() = %v, want %v", tt.name, err, tt.want)
		}
		if tt.want != nil {
			if _, err := NewDisk(c, nil); err != tt.want {
				t.Errorf("%s: NewDisk error = %v, want %v", tt.name, err, tt.want)
			}
		}
	}
}

func TestDiskDisabled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	d, err := NewDisk(DiskConfig{Dir: dir}, nil)
	if err != nil {
		t.Fatalf("NewDisk(MaxBytes 0) = %v", err)
	}
	defer d.Close()
	if d.Set(testOrig(0), testVkey(0), NewEntry([]byte("x"), "image/png", 1, 1)) {
		t.Error("Set on a disabled tier = true")
	}
	if _, ok := d.Get(testVkey(0)); ok {
		t.Error("Get on a disabled tier hit")
	}
	if _, _, ok := d.Locate(testVkey(0)); ok {
		t.Error("Locate on a disabled tier hit")
	}
	d.Purge(testOrig(0))
	if st := d.Stats(); st != (DiskStats{}) {
		t.Errorf("Stats of a disabled tier = %+v, want zero", st)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a disabled tier created its directory (Stat = %v)", err)
	}
}

// TestDiskLayout checks the file a Set leaves, which Nginx serves as is,
// and what Locate says about it.
func TestDiskLayout(t *testing.T) {
	d := newTestDisk(t, DiskConfig{MaxBytes: 1 << 20})
	body := []byte("not really a webp, but the tier does not look")
	e := NewEntry(body, "image/webp", 640, 480)
	orig := "0123456789abcdef0123456789abcdef.png"
	vkey := "fedcba9876543210fedcba9876543210"
	if !d.Set(orig, vkey, e) {
		t.Fatal("Set = false")
	}
	sum := sha256.Sum256(body)
	wantRel := fmt.Sprintf("01/%s/%s.%x.640x480.%d.webp", orig, vkey, sum, len(body))
	rel, meta, ok := d.Locate(vkey)
	if !ok || rel != wantRel {
		t.Fatalf("Locate = %q, %v; want %q, true", rel, ok, wantRel)
	}
	if meta.Body != nil {
		t.Errorf("Locate's meta has a Body of %d bytes, want nil", len(meta.Body))
	}
	checkEntry(t, "Locate's meta", &Entry{Body: body, ContentType: meta.ContentType, ETag: meta.ETag,
		Digest: meta.Digest, Width: meta.Width, Height: meta.Height}, e)
	got, err := os.ReadFile(filepath.Join(d.cfg.Dir, filepath.FromSlash(rel)))
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("the file at %s holds %q (%v), want exactly the variant bytes", rel, got, err)
	}
	info, err := os.Stat(filepath.Join(d.cfg.Dir, filepath.FromSlash(rel)))
	if err != nil || info.Mode().Perm() != diskFileMode&^umask(t) {
		t.Errorf("file mode %v (%v), want %v so that Nginx can read it", info.Mode(), err, fs.FileMode(diskFileMode&^umask(t)))
	}
	if st := d.Stats(); st.Entries != 1 || st.Bytes != diskBlock || st.Writes != 1 || st.Hits != 1 {
		t.Errorf("Stats = %+v, want 1 entry of one block, 1 write, 1 hit", st)
	}
	checkIndexMatchesDisk(t, d)

	for _, tt := range []struct {
		name       string
		orig, vkey string
		e          *Entry
	}{
		{"bad original", "../etc/passwd", vkey, e},
		{"upper-case original", strings.ToUpper(orig[:32]) + ".png", vkey, e},
		{"bad variant key", orig, "../../x", e},
		{"short variant key", orig, vkey[:31], e},
		{"unknown type", orig, vkey, NewEntry(body, "image/tiff", 1, 1)},
		{"negative width", orig, vkey, NewEntry(body, "image/png", -1, 1)},
		{"nil entry", orig, vkey, nil},
	} {
		if d.Set(tt.orig, tt.vkey, tt.e) {
			t.Errorf("Set with %s = true, want it declined", tt.name)
		}
	}
	checkIndexMatchesDisk(t, d)
}

func umask(t testing.TB) fs.FileMode {
	t.Helper()
	m := syscall.Umask(0)
	syscall.Umask(m)
	return fs.FileMode(m)
}

// TestDiskMalformedDigest shows that Set does not trust a Digest it cannot
// parse: it hashes the bytes instead.
func TestDiskMalformedDigest(t *testing.T) {
	d := newTestDisk(t, DiskConfig{MaxBytes: 1 << 20})
	body := []byte("variant")
	e := NewEntry(body, "image/gif", 2, 2)
	e.Digest = "sha-256=:not base64:"
	d.Set(testOrig(0), testVkey(0), e)
	got, ok := d.Get(testVkey(0))
	if !ok {
		t.Fatal("Get missed")
	}
	checkEntry(t, "Get", got, NewEntry(body, "image/gif", 2, 2))
}

// TestDiskSetSameBytes shows that setting bytes already stored writes
// nothing, unless the stored file has not been checked since a restart:
// then it is rewritten, which repairs it if it was damaged.
func TestDiskSetSameBytes(t *testing.T) {
	dir := t.TempDir()
	d := newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: 1 << 20})
	e := suiteEntry(0, 0, 3000)
	d.Set(testOrig(0), testVkey(0), e)
	if !d.Set(testOrig(0), testVkey(0), e) {
		t.Error("Set of the bytes already stored = false")
	}
	if st := d.Stats(); st.Writes != 1 {
		t.Errorf("Stats.Writes = %d after setting the same bytes twice, want 1", st.Writes)
	}
	d.Close()

	d = newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: 1 << 20})
	corrupt(t, d, testVkey(0), "flipped byte")
	if !d.Set(testOrig(0), testVkey(0), e) {
		t.Fatal("Set over an unchecked file = false")
	}
	got, ok := d.Get(testVkey(0))
	if !ok {
		t.Fatal("Get after rewriting a damaged file missed")
	}
	checkEntry(t, "Get after rewriting a damaged file", got, e)
	if st := d.Stats(); st.Writes != 1 || st.Corrupt != 0 || st.Entries != 1 {
		t.Errorf("Stats = %+v, want 1 write, nothing corrupt, 1 entry", st)
	}
	checkIndexMatchesDisk(t, d)
}

// corrupt damages the file of the entry stored under vkey in one of the
// ways a disk or an operator can.
func corrupt(t *testing.T, d *Disk, vkey, how string) string {
	t.Helper()
	d.mu.Lock()
	it, ok := d.lru.Peek(vkey)
	d.mu.Unlock()
	if !ok {
		t.Fatalf("corrupt: %s is not indexed", vkey)
	}
	path := filepath.Join(d.cfg.Dir, filepath.FromSlash(string(it.appendRel(nil, vkey))))
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch how {
	case "flipped byte":
		body[len(body)/2] ^= 1
	case "truncated":
		body = body[:len(body)-1]
	case "extended":
		body = append(body, 0)
	case "emptied":
		body = nil
	case "deleted":
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		return path
	default:
		t.Fatalf("corrupt: unknown damage %q", how)
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var damages = []string{"flipped byte", "truncated", "extended", "emptied", "deleted"}

func TestDiskCorruptGet(t *testing.T) {
	for _, how := range damages {
		t.Run(how, func(t *testing.T) {
			d := newTestDisk(t, DiskConfig{MaxBytes: 1 << 20})
			d.Set(testOrig(0), testVkey(0), suiteEntry(0, 0, 5000))
			d.Set(testOrig(0), testVkey(1), suiteEntry(1, 0, 5000))
			path := corrupt(t, d, testVkey(0), how)
			if got, ok := d.Get(testVkey(0)); ok {
				t.Fatalf("Get of a %s file hit (%d bytes)", how, len(got.Body))
			}
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the %s file is still there (Stat = %v)", how, err)
			}
			if _, _, ok := d.Locate(testVkey(0)); ok {
				t.Error("Locate after Get found the entry damaged hit")
			}
			if _, ok := d.Get(testVkey(1)); !ok {
				t.Error("Get of the undamaged sibling missed")
			}
			if st := d.Stats(); st.Corrupt != 1 || st.Entries != 1 || st.Bytes != 2*diskBlock {
				t.Errorf("Stats = %+v, want 1 corrupt, 1 entry of 2 blocks left", st)
			}
			checkIndexMatchesDisk(t, d)
		})
	}
}

// TestDiskCorruptLocate shows that Locate checks, once, a file it did not
// write, and never hands out a damaged one.
func TestDiskCorruptLocate(t *testing.T) {
	for _, how := range damages {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			d := newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: 1 << 20})
			for i := range 3 {
				d.Set(testOrig(0), testVkey(i), suiteEntry(i, 0, 5000))
			}
			d.Close()
			d = newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: 1 << 20})
			path := corrupt(t, d, testVkey(0), how)
			if rel, _, ok := d.Locate(testVkey(0)); ok {
				t.Fatalf("Locate of a %s file = %s, want a miss", how, rel)
			}
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the %s file is still there (Stat = %v)", how, err)
			}
			if _, _, ok := d.Locate(testVkey(1)); !ok {
				t.Error("Locate of an undamaged scanned file missed")
			}
			// Checked once: Locate trusts it from now on and reads
			// nothing, which a damage made after the check shows.
			corrupt(t, d, testVkey(1), "flipped byte")
			if _, _, ok := d.Locate(testVkey(1)); !ok {
				t.Error("a second Locate re-read a file already checked")
			}
			// Get still checks every time.
			if _, ok := d.Get(testVkey(1)); ok {
				t.Error("Get of a file damaged after Locate checked it hit")
			}
			if st := d.Stats(); st.Corrupt != 2 || st.Entries != 1 {
				t.Errorf("Stats = %+v, want 2 corrupt, 1 entry left", st)
			}
			checkIndexMatchesDisk(t, d)
		})
	}
}

func TestDiskEvictsLeastRecentlyUsed(t *testing.T) {
	// Room for four one-block entries.
	d := newTestDisk(t, DiskConfig{MaxBytes: 4 * diskBlock})
	for i := range 4 {
		d.Set(testOrig(i), testVkey(i), suiteEntry(i, 0, 100))
	}
	d.Get(testVkey(0))    // 1 is now the coldest
	d.Locate(testVkey(2)) // Locate counts as a use too
	d.Set(testOrig(4), testVkey(4), suiteEntry(4, 0, 100))
	d.Set(testOrig(5), testVkey(5), suiteEntry(5, 0, 100))
	for i, want := range []bool{true, false, true, false, true, true} {
		if _, ok := d.Get(testVkey(i)); ok != want {
			t.Errorf("Get(%d) = %v, want %v", i, ok, want)
		}
	}
	if st := d.Stats(); st.Evictions != 2 || st.Bytes != 4*diskBlock {
		t.Errorf("Stats = %+v, want 2 evictions and a full budget", st)
	}
	// Something larger than the whole budget is declined, evicting nothing.
	if d.Set(testOrig(6), testVkey(6), suiteEntry(6, 0, 4*diskBlock+1)) {
		t.Error("Set of an entry larger than the budget = true")
	}
	if st := d.Stats(); st.Entries != 4 || st.Declined != 1 {
		t.Errorf("Stats = %+v, want 4 entries kept and 1 declined", st)
	}
	checkIndexMatchesDisk(t, d)
}

// TestDiskBudget writes many entries of random sizes, sequentially and
// concurrently, and measures what is on disk: never more than the budget.
func TestDiskBudget(t *testing.T) {
	const budget = 1 << 20
	d := newTestDisk(t, DiskConfig{MaxBytes: budget})
	check := func(when string) {
		t.Helper()
		files, _ := walkDisk(t, d.cfg.Dir)
		var sum int64
		for _, size := range files {
			sum += size
		}
		if sum > budget {
			t.Errorf("%s: %d bytes in %d files on disk, over the budget of %d", when, sum, len(files), budget)
		}
		if st := d.Stats(); st.Bytes > budget {
			t.Errorf("%s: Stats.Bytes = %d, over the budget of %d", when, st.Bytes, budget)
		}
		checkIndexMatchesDisk(t, d)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		d.Set(testOrig(r.IntN(20)), testVkey(r.IntN(400)), suiteEntry(i, 0, r.IntN(100_000)))
	}
	check("after sequential Sets")
	for round := range 3 {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for i := range 100 {
					d.Set(testOrig(r.IntN(20)), testVkey(r.IntN(400)), suiteEntry(i, g, r.IntN(200_000)))
					if st := d.Stats(); st.Bytes > budget {
						t.Errorf("Stats.Bytes = %d during concurrent Sets, over %d", st.Bytes, budget)
					}
					if r.IntN(50) == 0 {
						d.Purge(testOrig(r.IntN(20)))
					}
				}
			})
		}
		wg.Wait()
		check(fmt.Sprintf("after concurrent round %d", round))
	}
	if st := d.Stats(); st.Evictions == 0 {
		t.Errorf("Stats = %+v: nothing was evicted, so the test did not fill the budget", st)
	}
}

// TestDiskPurgeRacesSet runs Purge against Sets, Gets and Locates of the
// same originals; afterwards the index and the disk agree exactly.
func TestDiskPurgeRacesSet(t *testing.T) {
	d := newTestDisk(t, DiskConfig{MaxBytes: 64 * diskBlock})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range 300 {
				o, v := r.IntN(3), r.IntN(30)
				switch r.IntN(4) {
				case 0:
					d.Purge(testOrig(o))
				case 1:
					if got, ok := d.Get(testVkey(v)); ok {
						checkConsistent(t, "Get during purges", got)
					}
				case 2:
					d.Locate(testVkey(v))
				default:
					// A variant key always belongs to one original.
					d.Set(testOrig(v%3), testVkey(v), suiteEntry(v, i%2, 100+r.IntN(6000)))
				}
			}
		})
	}
	wg.Wait()
	checkIndexMatchesDisk(t, d)
	for o := range 3 {
		d.Purge(testOrig(o))
	}
	if st := d.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Errorf("Stats after purging every original = %+v, want empty", st)
	}
	if files, _ := walkDisk(t, d.cfg.Dir); len(files) != 0 {
		t.Errorf("files left after purging every original: %v", files)
	}
}

// fakeClock is a settable clock for the full-disk cooldown.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingHandler counts the log records at each level.
type countingHandler struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[l]
}

// TestDiskFull fails writes with ENOSPC: Set declines, nothing is left
// behind, writes stop for the cooldown without being tried, the condition
// is logged once, and writes resume after it.
func TestDiskFull(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		t.Run(errno.Error(), func(t *testing.T) {
			logs := &countingHandler{counts: make(map[slog.Level]int)}
			d, err := NewDisk(DiskConfig{Dir: t.TempDir(), MaxBytes: 1 << 20, ScanTimeout: time.Second, FullCooldown: 30 * time.Second}, slog.New(logs))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			clock := &fakeClock{t: time.Unix(1000, 0)}
			d.now = clock.now
			var mu sync.Mutex
			full, tries := true, 0
			d.writeBody = func(f *os.File, body []byte) error {
				mu.Lock()
				defer mu.Unlock()
				tries++
				if full {
					// Half the bytes go out before the disk fills up.
					_, _ = f.Write(body[:len(body)/2])
					return &fs.PathError{Op: "write", Path: f.Name(), Err: errno}
				}
				return writeAll(f, body)
			}
			d.Set(testOrig(0), testVkey(0), suiteEntry(0, 0, 1000))
			if d.Set(testOrig(0), testVkey(1), suiteEntry(1, 0, 1000)) {
				t.Error("Set on a full disk = true")
			}
			if tries != 1 {
				t.Errorf("%d writes tried, want 1: the first failure starts the cooldown", tries)
			}
			if files, tmp := walkDisk(t, d.cfg.Dir); len(files)+len(tmp) != 0 {
				t.Errorf("a failed write left %v %v", files, tmp)
			}
			if _, ok := d.Get(testVkey(0)); ok {
				t.Error("Get of a failed write hit")
			}
			full = false
			clock.advance(29 * time.Second)
			if d.Set(testOrig(0), testVkey(2), suiteEntry(2, 0, 1000)) || tries != 1 {
				t.Errorf("Set within the cooldown tried to write (%d tries)", tries)
			}
			clock.advance(2 * time.Second)
			if !d.Set(testOrig(0), testVkey(3), suiteEntry(3, 0, 1000)) || tries != 2 {
				t.Errorf("Set after the cooldown did not write (%d tries)", tries)
			}
			st := d.Stats()
			if st.WriteErrors != 1 || st.Declined != 2 || st.Writes != 1 || st.Entries != 1 {
				t.Errorf("Stats = %+v, want 1 write error, 2 declined, 1 write, 1 entry", st)
			}
			if n := logs.count(slog.LevelWarn); n != 1 {
				t.Errorf("%d warnings logged, want 1", n)
			}
			checkIndexMatchesDisk(t, d)
		})
	}
}

// TestDiskFullTmpfs fills a real, tiny file system.
func TestDiskFullTmpfs(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a 256 KiB tmpfs here (needs root with CAP_SYS_ADMIN; make test as root on CI runs it, and TestDiskFull covers the same logic with an injected ENOSPC everywhere); mount: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	// A budget far beyond the file system, so that the disk fills first.
	d := newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: 64 << 20})
	stored := 0
	for i := range 100 {
		if d.Set(testOrig(0), testVkey(i), suiteEntry(i, 0, 20_000)) {
			stored++
		}
	}
	st := d.Stats()
	if stored == 0 || stored == 100 || st.WriteErrors != 1 || st.Writes != uint64(stored) {
		t.Errorf("%d of 100 stored; Stats = %+v; want some stored, then 1 error and a cooldown", stored, st)
	}
	if _, tmp := walkDisk(t, dir); len(tmp) != 0 {
		t.Errorf("failed writes left temporary files: %v", tmp)
	}
	for i := range stored {
		if got, ok := d.Get(testVkey(i)); !ok {
			t.Errorf("Get(%d), stored before the disk filled, missed", i)
		} else {
			checkConsistent(t, "Get", got)
		}
	}
	checkIndexMatchesDisk(t, d)
}

func BenchmarkDiskGet(b *testing.B) {
	for _, size := range []int{4 << 10, 32 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			d := newTestDisk(b, DiskConfig{MaxBytes: 1 << 30})
			d.Set(testOrig(0), testVkey(0), suiteEntry(0, 0, size))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := d.Get(testVkey(0)); !ok {
					b.Fatal("Get missed")
				}
			}
		})
	}
}

func BenchmarkDiskLocate(b *testing.B) {
	d := newTestDisk(b, DiskConfig{MaxBytes: 1 << 30})
	d.Set(testOrig(0), testVkey(0), suiteEntry(0, 0, 32<<10))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := d.Locate(testVkey(0)); !ok {
			b.Fatal("Locate missed")
		}
	}
}

// BenchmarkDiskSet writes 32 KiB variants into a full tier, so that each
// Set also evicts one.
func BenchmarkDiskSet(b *testing.B) {
	const size = 32 << 10
	d := newTestDisk(b, DiskConfig{MaxBytes: 256 * size})
	entries := make([]*Entry, 64)
	for i := range entries {
		entries[i] = suiteEntry(i, 0, size)
	}
	// 4096 keys, so that a key has been evicted by the time it comes back.
	var origs, vkeys [4096]string
	for i := range vkeys {
		origs[i], vkeys[i] = testOrig(i%512), testVkey(i)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(vkeys)
		if !d.Set(origs[k], vkeys[k], entries[i%len(entries)]) {
			b.Fatal("Set = false")
		}
		i++
	}
	b.ReportMetric(float64(d.Stats().Evictions)/float64(b.N), "evictions/op")
}
