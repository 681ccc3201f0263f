package cache

import (
	"bufio"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pictorhq/pictor/internal/keys"
)

// crashDirEnv names the directory TestDiskCrashChild writes into; the
// child runs only when it is set.
const crashDirEnv = "PICTOR_DISK_CRASH_DIR"

// crashReady is the line the child prints once it has written enough that
// a kill lands among writes.
const crashReady = "pictor-crash-ready"

// crashBudget is small enough that the child keeps evicting while it
// writes, so a kill also lands between an eviction and a rename.
const crashBudget = 2 << 20

// TestDiskCrashChild is the child process of TestDiskCrash: it writes,
// replaces and purges variants in a disk tier until it is killed. Each
// write stalls halfway, so that a kill at any moment is likely to find
// temporary files half-written. Run normally it returns at once.
func TestDiskCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	d, err := NewDisk(DiskConfig{Dir: dir, MaxBytes: crashBudget, ScanTimeout: time.Minute, FullCooldown: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.writeBody = func(f *os.File, body []byte) error {
		if _, err := f.Write(body[:len(body)/2]); err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
		_, err := f.Write(body[len(body)/2:])
		return err
	}
	var once sync.Once
	var wg sync.WaitGroup
	var mu sync.Mutex
	written := 0
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(g)))
			// The parent kills the child; the deadline only bounds an
			// orphan whose parent died first.
			for end := time.Now().Add(time.Minute); time.Now().Before(end); {
				v := r.IntN(600)
				if r.IntN(100) == 0 {
					d.Purge(testOrig(v % 30))
					continue
				}
				if d.Set(testOrig(v%30), testVkey(v), suiteEntry(v, r.IntN(3), 1+r.IntN(64<<10))) {
					mu.Lock()
					written++
					if written == 40 {
						once.Do(func() { os.Stdout.WriteString(crashReady + "\n") })
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
}

// TestDiskCrash kills a process writing into a disk tier with SIGKILL, at
// several moments, and reopens the directory each time, with damage of its
// own added: a flipped byte, a truncated file and a half-written temporary
// file. The restarted tier serves no damaged or partial entry (the crash
// itself leaves none: only the planted damage is found), its index matches
// the disk exactly, and it is within its budget.
func TestDiskCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short, which asks for no child processes: this test starts and SIGKILLs writers; make test (no -short) runs it")
	}
	dir := t.TempDir()
	killedMidWrite := 0
	delays := []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond}
	for round, delay := range delays {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDiskCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(out)
			seen := false
			for sc.Scan() {
				if !seen && sc.Text() == crashReady {
					seen = true
					ready <- true
				}
			}
			if !seen {
				ready <- false
			}
		}()
		select {
		case ok := <-ready:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("round %d: the child exited before writing", round)
			}
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("round %d: the child wrote nothing in a minute", round)
		}
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("round %d: the child ended with %v, want killed", round, err)
		}

		files, tmp := walkDisk(t, dir)
		if len(tmp) > 0 {
			killedMidWrite++
		}
		t.Logf("round %d: killed %v after ready, %d files, %d temporary", round, delay, len(files), len(tmp))
		damaged := plantDamage(t, dir, files)

		d := newTestDisk(t, DiskConfig{Dir: dir, MaxBytes: crashBudget})
		checkIndexMatchesDisk(t, d)
		d.mu.Lock()
		vkeys := d.lru.Keys()
		d.mu.Unlock()
		served := 0
		for _, vkey := range vkeys {
			d.mu.Lock()
			it, _ := d.lru.Peek(vkey)
			d.mu.Unlock()
			rel := string(it.appendRel(nil, vkey))
			got, ok := d.Get(vkey)
			if damaged[rel] {
				if ok {
					t.Errorf("round %d: Get served the damaged %s", round, rel)
				}
				continue
			}
			if !ok {
				t.Errorf("round %d: Get of the intact %s missed", round, rel)
				continue
			}
			if sum := sha256.Sum256(got.Body); sum != it.sum || int64(len(got.Body)) != it.size {
				t.Errorf("round %d: Get(%s) served %d bytes with digest %x", round, rel, len(got.Body), sum)
			}
			checkConsistent(t, "Get after a crash", got)
			served++
		}
		st := d.Stats()
		if st.Corrupt != uint64(len(damaged)) {
			t.Errorf("round %d: %d corrupt entries found, want the %d planted: the crash left damage", round, st.Corrupt, len(damaged))
		}
		if st.Bytes > crashBudget {
			t.Errorf("round %d: %d bytes indexed, over the budget of %d", round, st.Bytes, crashBudget)
		}
		after, tmp := walkDisk(t, dir)
		for rel := range damaged {
			if _, ok := after[rel]; ok {
				t.Errorf("round %d: the damaged %s is still on disk", round, rel)
			}
		}
		if len(tmp) != 0 {
			t.Errorf("round %d: temporary files survived the restart: %v", round, tmp)
		}
		checkIndexMatchesDisk(t, d)
		t.Logf("round %d: %d entries served intact, %d damaged removed", round, served, st.Corrupt)
		d.Close()
	}
	// With every write stalled halfway, a kill almost always finds one in
	// progress; if none ever did, the test did not test a torn write.
	if killedMidWrite == 0 {
		t.Errorf("no kill in %d rounds found a temporary file: no write was torn", len(delays))
	}
}

// plantDamage flips a byte in one file, truncates another, and leaves a
// half-written temporary file, and returns the damaged files' paths.
func plantDamage(t *testing.T, dir string, files map[string]int64) map[string]bool {
	t.Helper()
	var big []string // files with a byte to flip and to cut
	for rel, size := range files {
		if size > 0 && isEntryPath(rel) {
			big = append(big, rel)
		}
	}
	if len(big) < 2 {
		t.Fatalf("only %d non-empty entries on disk; need 2 to damage", len(big))
	}
	slices.Sort(big)
	damaged := map[string]bool{}
	for i, rel := range []string{big[0], big[len(big)-1]} {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			body[len(body)-1] ^= 0x80
		} else {
			body = body[:len(body)/2]
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		damaged[rel] = true
	}
	tmp := filepath.Join(dir, diskTmpDir)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, testVkey(9999)+".planted"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	return damaged
}

// isEntryPath reports whether rel looks like <shard>/<orig>/<entry name>.
func isEntryPath(rel string) bool {
	parts := strings.Split(rel, "/")
	if len(parts) != 3 || !isShard(parts[0]) || !keys.Valid(parts[1]) {
		return false
	}
	_, _, ok := parseDiskName(parts[2])
	return ok
}
