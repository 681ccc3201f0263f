package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `make run`'s script starts the whole service (supervisord, Nginx, the
// sidecar) and prints curl lines; each of them works when pasted into a
// shell, and goes through Nginx. Ctrl-C (SIGINT to the foreground process
// group) stops every process it started.
func TestRunScriptCurlLines(t *testing.T) {
	needStack(t)
	data := t.TempDir()
	listen, admin := freeAddr(t), freeAddr(t)
	cmd := exec.Command("bash", "scripts/run.sh")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(),
		"PICTOR_BIN="+bin, "PICTOR_DATA_DIR="+data,
		"PICTOR_HTTP_LISTEN="+listen, "PICTOR_ADMIN_LISTEN="+admin)
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
		// The processes under supervisord, to check they are gone after.
		var pids []int
		for _, f := range []string{"supervisord.pid", "nginx.pid"} {
			if b, err := os.ReadFile(filepath.Join(data, "run", f)); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					pids = append(pids, pid)
				}
			}
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run.sh after SIGINT: %v", err)
			}
		case <-time.After(40 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Error("run.sh did not stop on SIGINT")
		}
		if len(pids) != 2 {
			t.Errorf("pid files of supervisord and nginx: found %d", len(pids))
		}
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				t.Errorf("process %d still runs after Ctrl-C", pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if _, err := os.Stat(filepath.Join(data, "run", "pictor.sock")); err == nil {
			t.Error("the sidecar's socket is still there: it did not drain and close")
		}
	}()

	var lines, tus []string
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(60*time.Second, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	inTus := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		// The resumable-upload example is one script of several lines,
		// from loc=$(curl … to the next blank line.
		if strings.HasPrefix(line, "loc=$(curl ") {
			inTus = true
		}
		if inTus {
			if line == "" {
				inTus = false
			} else {
				tus = append(tus, line)
			}
			continue
		}
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
	for _, line := range lines {
		if strings.HasPrefix(line, "curl ") && !strings.Contains(line, "http://"+listen+"/") {
			t.Errorf("curl line does not go through Nginx on %s: %s", listen, line)
		}
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
		out, err := c.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", line, err, out)
		}
		if strings.Contains(line, "original.jpg") && !strings.Contains(string(out), "X-Served-By: nginx-originals") {
			t.Errorf("%s: the original was not sent by Nginx's internal location:\n%s", line, out)
		}
	}
	// The resumable upload, pasted as printed, ends with the key.
	c := exec.Command("bash", "-c", "set -e\n"+strings.Join(tus, "\n"))
	c.Dir = ".."
	tusOut, err := c.CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?i)pictor-key: [0-9a-f]{64}\.jpg`).Match(tusOut) {
		t.Errorf("the resumable-upload example %q: %v\n%s", tus, err, tusOut)
	}
	if joined := strings.Join(tus, "\n"); !strings.Contains(joined, "gave Pictor-Key: ") || strings.Contains(joined, "gave Pictor-Key: none") {
		t.Errorf("run.sh's own resumable upload at start-up gave no key: %q", tus)
	}
	for _, f := range []string{"out.webp", "original.jpg"} {
		if fi, err := os.Stat(filepath.Join(work, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}
