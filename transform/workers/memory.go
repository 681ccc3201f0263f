package workers

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MachineMemory is the memory this process may use: the machine's
// (MemTotal in /proc/meminfo), or the memory limit of its cgroup when that
// is lower (cgroup v2 memory.max, or v1 memory.limit_in_bytes, of the
// cgroup /proc/self/cgroup names, and of the root of the mount, which is
// the process's own inside a container). It is 4 GiB where nothing can be
// read.
func MachineMemory() int64 {
	n := meminfoTotal("/proc/meminfo")
	if n <= 0 {
		n = 4 << 30
	}
	for _, f := range cgroupLimitFiles("/proc/self/cgroup", "/sys/fs/cgroup") {
		if l := cgroupLimit(f); l > 0 && l < n {
			n = l
		}
	}
	return n
}

// cgroupLimitFiles lists the memory limit files that may apply to the
// process whose /proc/<pid>/cgroup is at self, under the mount root.
func cgroupLimitFiles(self, root string) []string {
	files := []string{
		filepath.Join(root, "memory.max"),
		filepath.Join(root, "memory", "memory.limit_in_bytes"),
	}
	b, err := os.ReadFile(self)
	if err != nil {
		return files
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		// v2: "0::/path"; v1: "4:memory:/path" (or "4:cpu,memory:/path").
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[2] == "/" || strings.Contains(parts[2], "..") {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			files = append(files, filepath.Join(root, parts[2], "memory.max"))
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			files = append(files, filepath.Join(root, "memory", parts[2], "memory.limit_in_bytes"))
		}
	}
	return files
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
