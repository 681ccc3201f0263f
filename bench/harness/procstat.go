package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pictorhq/pictor/bench/report"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat. The kernel
// reports them in USER_HZ, which is 100 on every Linux architecture Go
// supports (it is part of the /proc ABI, independent of CONFIG_HZ).
const userHZ = 100

// ProcGroup is a named set of server processes whose cost a run measures:
// the given pids and every descendant of them, looked up again at each
// sample, so that giving Nginx's master pid also counts its workers, which
// do the work, and a worker respawned mid-run is picked up.
type ProcGroup struct {
	Name string
	PIDs []int
}

// procInfo is what one read of /proc/<pid>/stat gives.
type procInfo struct {
	ppid int
	cpu  int64 // utime + stime, in USER_HZ ticks
}

// readStat parses /proc/<pid>/stat. The command name is in parentheses and
// may itself hold spaces and parentheses, so the fields are counted from
// the last ')'.
func readStat(pid int) (procInfo, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, err
	}
	return parseStat(pid, raw)
}

func parseStat(pid int, raw []byte) (procInfo, error) {
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 || i+2 > len(raw) {
		return procInfo{}, fmt.Errorf("harness: /proc/%d/stat: unexpected format", pid)
	}
	// Fields from the state (3rd of the line) on: ppid is the 4th of the
	// line, utime and stime the 14th and 15th.
	f := bytes.Fields(raw[i+2:])
	if len(f) < 13 {
		return procInfo{}, fmt.Errorf("harness: /proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	ut, err2 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err3 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procInfo{}, fmt.Errorf("harness: /proc/%d/stat: unexpected format", pid)
	}
	return procInfo{ppid: ppid, cpu: ut + st}, nil
}

// readRSS is VmRSS from /proc/<pid>/status, in bytes.
func readRSS(pid int) (int64, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	_, rest, ok := bytes.Cut(raw, []byte("\nVmRSS:"))
	if !ok {
		return 0, nil // a zombie or kernel thread has no memory
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	f := bytes.Fields(line) // "1234", "kB"
	if len(f) < 1 {
		return 0, fmt.Errorf("harness: /proc/%d/status: VmRSS unreadable", pid)
	}
	kb, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("harness: /proc/%d/status: VmRSS: %w", pid, err)
	}
	return kb * 1024, nil
}

// allParents maps every live pid to its parent, from /proc/*/stat.
func allParents() map[int]int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	m := make(map[int]int, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pi, err := readStat(pid); err == nil {
			m[pid] = pi.ppid
		}
	}
	return m
}

// members is roots plus every live descendant of them, given parents.
func members(roots []int, parents map[int]int) []int {
	children := make(map[int][]int)
	for pid, pp := range parents {
		children[pp] = append(children[pp], pid)
	}
	seen := make(map[int]bool)
	var out []int
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	slices.Sort(out)
	return out
}

// CheckPIDs reports a pid that does not exist, so that a typo in --pid
// fails before a run rather than measuring nothing.
func CheckPIDs(groups []ProcGroup) error {
	for _, g := range groups {
		for _, pid := range g.PIDs {
			if _, err := readStat(pid); err != nil {
				return fmt.Errorf("%w: %s=%d: %v", ErrNoProcess, g.Name, pid, err)
			}
		}
	}
	return nil
}

// groupState is one group's accounting during a sampling.
type groupState struct {
	g    ProcGroup
	base map[int]int64 // CPU ticks of each pid when first seen
	last map[int]int64 // CPU ticks at the latest sample
	rss  []report.RSSSample
	peak int64
}

// Sampling reads the CPU time and resident memory of process groups every
// interval while a result runs. Stop ends it and returns one report.Process
// per group.
type Sampling struct {
	start  time.Time
	groups []*groupState
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
}

// StartSampling takes a first sample at once (the baseline of every CPU
// counter) and then one every interval until Stop.
func StartSampling(groups []ProcGroup, interval time.Duration) *Sampling {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sampling{start: time.Now(), cancel: cancel, done: make(chan struct{})}
	for _, g := range groups {
		s.groups = append(s.groups, &groupState{g: g, base: map[int]int64{}, last: map[int]int64{}})
	}
	s.sample(true)
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.sample(false)
			}
		}
	}()
	return s
}

// sample reads every member of every group once. A pid first seen after
// the first sample was born during the run, so all its CPU time counts.
func (s *Sampling) sample(first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.groups) == 0 {
		return
	}
	t := time.Since(s.start).Seconds()
	parents := allParents()
	for _, gs := range s.groups {
		var rss int64
		for _, pid := range members(gs.g.PIDs, parents) {
			pi, err := readStat(pid)
			if err != nil {
				continue // exited: its last reading stands
			}
			if _, ok := gs.base[pid]; !ok {
				gs.base[pid] = 0
				if first {
					gs.base[pid] = pi.cpu
				}
			}
			gs.last[pid] = pi.cpu
			if b, err := readRSS(pid); err == nil {
				rss += b
			}
		}
		gs.rss = append(gs.rss, report.RSSSample{T: t, Bytes: rss})
		gs.peak = max(gs.peak, rss)
	}
}

// Stop takes a last sample and returns each group's CPU seconds, peak RSS
// and RSS samples. CPUPerRequest is left for the caller, who knows the
// request count.
func (s *Sampling) Stop() []report.Process {
	s.cancel()
	<-s.done
	s.sample(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]report.Process, 0, len(s.groups))
	for _, gs := range s.groups {
		var ticks int64
		pids := make([]int, 0, len(gs.last))
		for pid, c := range gs.last {
			ticks += c - gs.base[pid]
			pids = append(pids, pid)
		}
		slices.Sort(pids)
		out = append(out, report.Process{
			Name:         gs.g.Name,
			PIDs:         pids,
			CPUSeconds:   float64(ticks) / userHZ,
			PeakRSSBytes: gs.peak,
			RSS:          gs.rss,
		})
	}
	return out
}
