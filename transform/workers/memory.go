package workers

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// MachineMemory is the memory this process may use: the machine's
// (MemTotal in /proc/meminfo), or its cgroup's limit (cgroup v2
// memory.max, or v1 memory.limit_in_bytes) when that is lower. It is 4 GiB
// where neither can be read.
func MachineMemory() int64 {
	n := meminfoTotal("/proc/meminfo")
	if n <= 0 {
		n = 4 << 30
	}
	for _, f := range [...]string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if l := cgroupLimit(f); l > 0 && l < n {
			n = l
		}
	}
	return n
}

func meminfoTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// MemTotal:       24609412 kB
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupLimit reads a limit file: bytes, or "max" (no limit, 0 here).
func cgroupLimit(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}
