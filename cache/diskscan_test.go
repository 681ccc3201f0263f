package cache

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDiskRestart(t *testing.T) {
	dir := t.TempDir()
	d := newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: 1 << 20})
	want := make([]*Entry, 20)
	for i := range want {
		want[i] = suiteEntry(i, 0, 100*i)
		d.Set(testOrig(i%3), testVkey(i), want[i])
	}
	before := d.Stats()
	d.Close()
	if _, ok := d.Get(testVkey(0)); ok {
		t.Error("Get after Close hit")
	}
	if d.Set(testOrig(0), testVkey(0), want[0]) {
		t.Error("Set after Close = true")
	}

	d2 := newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: 1 << 20})
	if st := d2.Stats(); st.Entries != before.Entries || st.Bytes != before.Bytes {
		t.Errorf("after a restart Stats = %+v, want the %d entries and %d bytes before", st, before.Entries, before.Bytes)
	}
	for i := range want {
		rel, meta, ok := d2.Locate(testVkey(i))
		if !ok {
			t.Errorf("Locate(%d) after a restart missed", i)
			continue
		}
		if meta.ETag != want[i].ETag || meta.Digest != want[i].Digest || meta.ContentType != want[i].ContentType {
			t.Errorf("Locate(%d) after a restart = %s %+v, want %+v", i, rel, meta, want[i])
		}
		got, ok := d2.Get(testVkey(i))
		if !ok {
			t.Errorf("Get(%d) after a restart missed", i)
			continue
		}
		checkEntry(t, fmt.Sprintf("Get(%d) after a restart", i), got, want[i])
	}
	checkIndexMatchesDisk(t, d2)
}

// TestDiskScanCleansUp plants what a crash, an older version or a stray
// process could leave in the directory and checks what the scan keeps.
func TestDiskScanCleansUp(t *testing.T) {
	dir := t.TempDir()
	d := newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: 1 << 20})
	good := suiteEntry(1, 0, 1000)
	d.Set(testOrig(1), testVkey(1), good)
	goodRel, _, _ := d.Locate(testVkey(1))
	d.Close()

	write := func(rel string, body string) {
		t.Helper()
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	group := goodRel[:strings.LastIndexByte(goodRel, '/')]
	sum := sha256.Sum256([]byte("abc"))
	okName := fmt.Sprintf("%s.%x.1x1.3.png", testVkey(2), sum)
	removed := []string{
		diskTmpDir + "/" + testVkey(3) + ".1",         // a half-written file
		diskStalePrefix + "old/" + testVkey(4) + ".7", // an older run's
		group + "/garbage",                            // names that do not parse
		group + "/" + strings.Replace(okName, ".png", ".tiff", 1),
		group + "/" + strings.Replace(okName, ".1x1.", ".01x1.", 1),
		group + "/" + strings.Replace(okName, ".3.", ".+3.", 1),
		group + "/A" + okName[1:],
		group + "/" + okName + ".tmp",
		group + "/" + fmt.Sprintf("%s.%x.1x1.%d.png", testVkey(5), sum, int64(2<<20)), // over the budget
		group + "/" + testVkey(1) + goodRel[len(group)+33:] + "x",                     // junk suffix
		"ab/not-an-original/" + okName,                                                // a group that is not a key
		"ab/" + testOrig(9) + "/" + okName,                                            // a group in the wrong shard
		"cd/stray-file",
	}
	for _, rel := range removed {
		write(rel, "abc")
	}
	// The same variant key in a second group: the first one scanned stays.
	write(testOrig(2)[:2]+"/"+testOrig(2)+"/"+goodRel[len(group)+1:], string(good.Body))
	if err := os.MkdirAll(filepath.Join(dir, "00", testOrig(5)), 0o755); err != nil { // an empty group
		t.Fatal(err)
	}
	write("README", "not ours: left alone")
	write("lost+found/x", "not ours either")
	kept := group + "/" + okName
	write(kept, "abc")

	d2 := newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: 1 << 20})
	files, tmp := walkDisk(t, dir)
	if len(tmp) != 0 {
		t.Errorf("temporary files left after the scan: %v", tmp)
	}
	for _, rel := range removed {
		if _, ok := files[rel]; ok {
			t.Errorf("%s was kept, want it removed", rel)
		}
	}
	for _, rel := range []string{"README", "lost+found/x", kept, goodRel} {
		if _, ok := files[rel]; !ok {
			t.Errorf("%s was removed, want it kept", rel)
		}
	}
	if len(files) != 4 {
		t.Errorf("files after the scan: %v, want the 4 kept", files)
	}
	for _, sub := range []string{"ab", "cd", "00/" + testOrig(2), "00/" + testOrig(5), diskStalePrefix + "old"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("directory %s was kept (Stat = %v), want it removed", sub, err)
		}
	}
	delete(files, "README")
	delete(files, "lost+found/x")
	if st := d2.Stats(); st.Entries != 2 {
		t.Errorf("Stats.Entries = %d after the scan, want 2", st.Entries)
	}
	got, ok := d2.Get(testVkey(1))
	if !ok {
		t.Fatal("Get of the good entry after the scan missed")
	}
	checkEntry(t, "Get after the scan", got, good)
	if got, ok := d2.Get(testVkey(2)); !ok || string(got.Body) != "abc" {
		t.Errorf("Get of the planted well-formed entry = %v, %v; want abc", got, ok)
	}
}

// TestDiskScanInBackground starts with a scan bound too short to finish:
// NewDisk returns at once, the scan completes behind it while Sets and
// Purges run, and the result is exact and within the budget.
func TestDiskScanInBackground(t *testing.T) {
	dir := t.TempDir()
	const n = 600
	d := newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: 1 << 30})
	for i := range n {
		d.Set(testOrig(i%200), testVkey(i), suiteEntry(i, 0, 10))
	}
	d.Close()

	// Half the entries fit the new budget.
	cfg := DiskConfig{Dir: dir, MaxBytes: n / 2 * diskBlock, ScanTimeout: time.Nanosecond, FullCooldown: time.Second}
	d2, err := NewDisk(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if !d2.Stats().Scanning {
		t.Fatal("a 1 ns scan bound finished the scan in the foreground")
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			switch i % 3 {
			case 0:
				d2.Set(testOrig(i%200), testVkey(i), suiteEntry(i, 1, 20))
			case 1:
				if got, ok := d2.Get(testVkey(i)); ok {
					checkConsistent(t, "Get during the scan", got)
				}
			default:
				if i%30 == 2 {
					d2.Purge(testOrig(i % 200))
				}
			}
		}
	})
	wg.Wait()
	<-d2.scanDone
	st := d2.Stats()
	if st.Scanning || st.Bytes > cfg.MaxBytes || st.Entries == 0 || st.Entries > n/2 {
		t.Errorf("after the background scan Stats = %+v, want at most %d entries within %d bytes", st, n/2, cfg.MaxBytes)
	}
	checkIndexMatchesDisk(t, d2)

	// ScanTimeout 0 scans entirely in the background, and finds the same.
	d2.Close()
	cfg.ScanTimeout = 0
	d3 := newTestDisk(t, cfg)
	if got := d3.Stats(); got.Entries != st.Entries || got.Bytes != st.Bytes {
		t.Errorf("after a background-only scan Stats = %+v, want the %d entries and %d bytes left", got, st.Entries, st.Bytes)
	}
	checkIndexMatchesDisk(t, d3)
}

// BenchmarkDiskScan measures NewDisk on a directory of 50,000 entries
// (10,000 originals of 5 variants): the start-up scan, with the directory
// metadata in the page cache. It reports entries/s and the index's heap
// bytes per entry.
func BenchmarkDiskScan(b *testing.B) {
	const originals, perOrig = 10_000, 5
	dir := b.TempDir()
	sum := strings.Repeat("5e", 32)
	for o := range originals {
		orig := testOrig(o)
		group := filepath.Join(dir, orig[:2], orig)
		if err := os.MkdirAll(group, 0o755); err != nil {
			b.Fatal(err)
		}
		for v := range perOrig {
			name := fmt.Sprintf("%s.%s.100x100.3000.webp", testVkey(o*perOrig+v), sum)
			if err := os.WriteFile(filepath.Join(group, name), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	cfg := DiskConfig{Dir: dir, MaxBytes: 1 << 40, ScanTimeout: time.Minute, FullCooldown: time.Second}
	var heap int64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		d, err := NewDisk(cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		<-d.scanDone
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		if n := d.Stats().Entries; n != originals*perOrig {
			b.Fatalf("scan indexed %d entries, want %d", n, originals*perOrig)
		}
		heap = int64(after.HeapAlloc) - int64(before.HeapAlloc)
		d.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*originals*perOrig)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(heap)/(originals*perOrig), "heap-B/entry")
}
