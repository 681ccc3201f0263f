package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `make run`'s script starts Pictor and prints curl lines; each of them
// works when pasted into a shell.
func TestRunScriptCurlLines(t *testing.T) {
	data := t.TempDir()
	listen, admin := freeAddr(t), freeAddr(t)
	cmd := exec.Command("bash", "scripts/run.sh")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(),
		"PICTOR_BIN="+bin, "PICTOR_DATA_DIR="+data,
		"PICTOR_LISTEN="+listen, "PICTOR_ADMIN_LISTEN="+admin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Error("run.sh did not stop on SIGINT")
		}
	}()

	var lines []string
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(30*time.Second, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "curl ") || strings.HasPrefix(line, "PICTOR_SIGNING_KEYS=") {
			lines = append(lines, line)
		}
		if strings.HasPrefix(line, "PICTOR_SIGNING_KEYS=") {
			break // the last line printed
		}
	}
	deadline.Stop()
	if len(lines) != 4 {
		t.Fatalf("run.sh printed %d curl/sign lines, want 4: %q", len(lines), lines)
	}
	if _, err := os.Stat(filepath.Join(data, "secrets.env")); err != nil {
		t.Errorf("no generated secrets: %v", err)
	}
	work := t.TempDir()
	for _, line := range lines {
		// Make curl fail on HTTP errors; the bin path is relative to the repo.
		sh := strings.Replace(line, "curl ", "curl -fsS ", 1)
		c := exec.Command("bash", "-c", sh)
		c.Dir = ".."
		if strings.Contains(line, "-o ") {
			c.Dir = work
			sh = strings.ReplaceAll(sh, "testdata/", "../testdata/")
			c = exec.Command("bash", "-c", sh)
			c.Dir = work
		}
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", line, err, out)
		}
	}
	for _, f := range []string{"out.webp", "original.jpg"} {
		if fi, err := os.Stat(filepath.Join(work, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}
