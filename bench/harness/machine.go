package harness

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/pictorhq/pictor/bench/report"
)

// Machine describes the machine the harness runs on, from /proc and
// /etc/os-release; a fact it cannot read is left empty.
func Machine() report.Machine {
	m := report.Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.CPU = field("/proc/cpuinfo", "model name", ":")
	if kb, err := strconv.ParseInt(strings.Fields(field("/proc/meminfo", "MemTotal", ":") + " 0")[0], 10, 64); err == nil {
		m.MemBytes = kb * 1024
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.OS = strings.Trim(field("/etc/os-release", "PRETTY_NAME", "="), `"`)
	return m
}

// field is the value of the first "name<sep>value" line of path.
func field(path, name, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), sep)
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
