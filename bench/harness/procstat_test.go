package harness

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	for _, c := range []struct {
		name, line string
		want       procInfo
		ok         bool
	}{
		{"plain", "42 (nginx) S 1 42 42 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 1 0 100 1000 200", procInfo{ppid: 1, cpu: 175}, true},
		{"name with spaces and parentheses", "42 (a) b (c) R 7 42 42 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 2 3", procInfo{ppid: 7, cpu: 7}, true},
		{"truncated", "42 (x) S 1 2 3", procInfo{}, false},
		{"no name", "garbage", procInfo{}, false},
	} {
		got, err := parseStat(42, []byte(c.line))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%s: parseStat = %+v, %v; want %+v, ok %v", c.name, got, err, c.want, c.ok)
		}
	}
}

func TestMembers(t *testing.T) {
	parents := map[int]int{1: 0, 10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}
	if got, want := members([]int{10}, parents), []int{10, 11, 12, 13}; !slices.Equal(got, want) {
		t.Errorf("members(10) = %v, want %v", got, want)
	}
	if got, want := members([]int{21, 10, 11}, parents), []int{10, 11, 12, 13, 21}; !slices.Equal(got, want) {
		t.Errorf("members(21, 10, 11) = %v, want %v", got, want)
	}
}

// TestSamplingBusyChildren runs a shell with two busy children and gives
// the sampler only the shell's pid, as one gives Nginx's master: the
// children's CPU must count, and so must their memory.
func TestSamplingBusyChildren(t *testing.T) {
	cmd := exec.Command("sh", "-c", `sh -c 'while :; do :; done' & sh -c 'while :; do :; done' & wait`)
	// Its own process group, so that the test can stop all three by it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pid, syscall.SIGKILL)
		cmd.Wait()
	})
	group := []ProcGroup{{Name: "busy", PIDs: []int{pid}}}
	if err := CheckPIDs(group); err != nil {
		t.Fatal(err)
	}
	// Let the children start before the first sample.
	deadline := time.Now().Add(5 * time.Second)
	for len(members([]int{pid}, allParents())) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the busy children did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := StartSampling(group, 50*time.Millisecond)
	time.Sleep(800 * time.Millisecond)
	procs := s.Stop()
	if len(procs) != 1 {
		t.Fatalf("%d groups, want 1", len(procs))
	}
	p := procs[0]
	// Two busy loops for 0.8 s is up to 1.6 CPU-seconds; a shared machine
	// gives them less, but never nothing.
	if p.CPUSeconds < 0.1 || p.CPUSeconds > 2 {
		t.Errorf("CPUSeconds = %.2f, want between 0.1 and 2 for two busy children over 0.8 s", p.CPUSeconds)
	}
	if len(p.PIDs) != 3 || !slices.Contains(p.PIDs, pid) {
		t.Errorf("PIDs = %v, want the shell %d and its two children", p.PIDs, pid)
	}
	if p.PeakRSSBytes <= 0 || len(p.RSS) < 10 {
		t.Errorf("peak RSS %d over %d samples, want > 0 over ≥ 10", p.PeakRSSBytes, len(p.RSS))
	}
	for _, r := range p.RSS {
		if r.Bytes > p.PeakRSSBytes {
			t.Errorf("RSS sample %d above the peak %d", r.Bytes, p.PeakRSSBytes)
		}
	}
}

func TestCheckPIDs(t *testing.T) {
	// Pid numbers are at most 2^22 on Linux (pid_max).
	err := CheckPIDs([]ProcGroup{{Name: "ghost", PIDs: []int{1 << 23}}})
	if !errors.Is(err, ErrNoProcess) {
		t.Errorf("CheckPIDs(no such pid) = %v, want ErrNoProcess", err)
	}
	if err := CheckPIDs([]ProcGroup{{Name: "self", PIDs: []int{os.Getpid()}}}); err != nil {
		t.Errorf("CheckPIDs(self) = %v", err)
	}
}
