package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/vips"
)

// The real stack: supervisord runs Nginx and the sidecar as `make run` does
// (scripts/run.sh), from configs that deploy/render.sh renders for a fresh
// data directory and free loopback ports. Requests go to Nginx.

// stackTools are the programs the stack tests start.
var stackTools = []string{"nginx", "supervisord", "supervisorctl"}

// needStack skips when Nginx or supervisord is not installed. make test
// runs scripts/deps.sh first, which installs both, so there they run.
func needStack(t testing.TB) {
	t.Helper()
	for _, name := range stackTools {
		if _, err := lookTool(name); err != nil {
			t.Skipf("%s is not installed: these tests need real Nginx and supervisord; scripts/deps.sh installs them (make test runs it first, and runs these tests)", name)
		}
	}
}

// lookTool finds a program on PATH, or in /usr/sbin where Debian puts nginx
// and which a non-root PATH may lack.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", exec.ErrNotFound
}

// render runs deploy/render.sh with args and returns the directory it
// rendered into.
func render(t testing.TB, args ...string) string {
	t.Helper()
	nginx, err := lookTool("nginx")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{"../deploy/render.sh", "--nginx", nginx}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render.sh %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out))
}

// nginxT runs `nginx -t` on a rendered nginx.conf.
func nginxT(t testing.TB, conf string) {
	t.Helper()
	nginx, _ := lookTool("nginx")
	out, err := exec.Command(nginx, "-t", "-c", filepath.Join(conf, "nginx.conf"), "-e", "stderr").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t on %s: %v\n%s", conf, err, out)
	}
}

// stack is one running supervisord with Nginx and the sidecar under it. Its
// embedded instance sends every request to Nginx.
type stack struct {
	*instance
	conf   string // the rendered configuration
	listen string // Nginx, host:port
	sup    *exec.Cmd
	supOut bytes.Buffer
	exited chan struct{} // closed when supervisord has exited
}

// startStack renders the configs in local mode for a fresh data directory
// (with renderArgs on top), starts supervisord with the test secrets and env
// in its environment, and waits until Nginx answers for the sidecar.
func startStack(t testing.TB, env []string, renderArgs ...string) *stack {
	t.Helper()
	needStack(t)
	dir := t.TempDir()
	listen, admin := freeAddr(t), freeAddr(t)
	s := &stack{listen: listen, exited: make(chan struct{})}
	s.conf = render(t, append([]string{"--mode", "local", "--data", dir, "--bin", bin,
		"--listen", listen, "--admin", admin}, renderArgs...)...)
	supervisord, _ := lookTool("supervisord")
	s.sup = exec.Command(supervisord, "-n", "-c", filepath.Join(s.conf, "supervisord.conf"))
	s.sup.Env = append(os.Environ(), "PICTOR_SIGNING_KEYS="+signingKey, "PICTOR_UPLOAD_TOKENS="+token)
	s.sup.Env = append(s.sup.Env, env...)
	s.sup.Stdout, s.sup.Stderr = &s.supOut, &s.supOut
	// Its own process group: a signal meant for supervisord never reaches
	// the test binary.
	s.sup.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.sup.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.sup.Wait(); close(s.exited) }()

	keys, _ := sign.ParseKeys(signingKey)
	cfg := sign.DefaultConfig()
	cfg.Keys = keys
	signer, _ := sign.New(cfg)
	parser, _ := options.NewParser(options.DefaultConfig())
	s.instance = &instance{t: t, base: "http://" + listen, admin: "http://" + admin, dir: dir,
		signer: signer, parser: parser, log: &bytes.Buffer{},
		client: &http.Client{Timeout: 60 * time.Second}}
	t.Cleanup(s.stop)

	// Ready: the sidecar is healthy and Nginx reaches it (the sidecar's own
	// 404 for a well-formed key it does not have, not Nginx's).
	deadline := time.Now().Add(30 * time.Second)
	for {
		if s.sidecarAnswers() {
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("supervisord exited at start: %v\n%s\n%s", s.sup.ProcessState, s.supOut.String(), s.logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stack did not come up in 30 s\n%s", s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sidecarAnswers reports whether a request through Nginx reaches a live
// sidecar.
func (s *stack) sidecarAnswers() bool {
	resp, err := s.client.Get(s.base + "/o/" + strings.Repeat("0", 64) + ".jpg")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 404 && resp.Header.Get("X-Served-By") == ""
}

// ctl runs supervisorctl against this stack's supervisord.
func (s *stack) ctl(args ...string) (string, error) {
	ctl, _ := lookTool("supervisorctl")
	out, err := exec.Command(ctl, append([]string{"-c", filepath.Join(s.conf, "supervisord.conf")}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// pid is the process id supervisord has for a program, 0 when none runs.
func (s *stack) pid(program string) int {
	out, _ := s.ctl("pid", program)
	pid, err := strconv.Atoi(out)
	if err != nil {
		return 0
	}
	return pid
}

// stop shuts supervisord down the way Ctrl-C on `make run` does and checks
// that it takes Nginx and the sidecar with it.
func (s *stack) stop() {
	pids := []int{s.pid("pictor"), s.pid("nginx")}
	s.sup.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(45 * time.Second):
		s.t.Errorf("supervisord did not stop within 45 s of SIGTERM")
		s.sup.Process.Kill()
		<-s.exited
	}
	for _, pid := range pids {
		if pid > 0 && syscall.Kill(pid, 0) == nil {
			s.t.Errorf("process %d still runs after supervisord stopped", pid)
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	if s.t.Failed() {
		s.t.Logf("stack logs:\n%s", s.logs())
	}
}

// logs is the tail of each log file of the stack, for failure messages.
func (s *stack) logs() string {
	var b strings.Builder
	for _, f := range []string{"supervisord.log", "pictor.log", "nginx.log", "nginx-error.log"} {
		data, err := os.ReadFile(filepath.Join(s.dir, "log", f))
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", f, tail(string(data), 3000))
	}
	return b.String()
}

// sidecarLog is the sidecar's log so far.
func (s *stack) sidecarLog() string {
	data, _ := os.ReadFile(filepath.Join(s.dir, "log", "pictor.log"))
	return string(data)
}

// metric sums the sidecar's samples of the metric name whose labels
// include every one of labels (each written as in the exposition format,
// e.g. `route="transform"`).
func (in *instance) metric(name string, labels ...string) (float64, error) {
	resp, err := in.client.Get(in.admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var sum float64
	found := false
	for _, line := range strings.Split(string(body), "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(series, l)
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, err
		}
		sum += v
		found = true
	}
	if !found && len(labels) == 0 {
		return 0, fmt.Errorf("no metric %s", name)
	}
	return sum, nil
}

// digestOf is the RFC 9530 Content-Digest value of b.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// sha256Key is the key the store gives body.
func sha256Key(body []byte, ext string) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]) + ext
}

// checkOriginal says what is wrong, if anything, with a 200 for /o/<key>:
// the bytes must hash to the key, and the headers must be the sidecar's.
func checkOriginal(key string, h http.Header, body []byte) error {
	sum := sha256.Sum256(body)
	hexSum := hex.EncodeToString(sum[:])
	switch {
	case !strings.HasPrefix(hexSum, key[:strings.IndexByte(key, '.')]):
		return fmt.Errorf("original %s: %d bytes hash to %s", key, len(body), hexSum)
	case h.Get("Content-Digest") != digestOf(body):
		return fmt.Errorf("original %s: Content-Digest %q, want %q", key, h.Get("Content-Digest"), digestOf(body))
	case h.Get("X-Served-By") != "nginx-originals":
		return fmt.Errorf("original %s: X-Served-By %q, want nginx-originals", key, h.Get("X-Served-By"))
	}
	return nil
}

// checkVariant says what is wrong with a 200 for a variant: the digest
// must match the bytes, and the bytes must be an image width pixels wide
// (when width > 0). Variants are not compared byte for byte with an
// earlier answer: the sidecar may make one URL's variant along two paths
// (alone, or from an original decoded once for several variants at once),
// and the two encodings differ in a few bytes.
func checkVariant(path string, h http.Header, body []byte, width int) error {
	if len(body) == 0 {
		return fmt.Errorf("%s: empty body", path)
	}
	if h.Get("Content-Digest") != digestOf(body) {
		return fmt.Errorf("%s: Content-Digest %q does not match the %d bytes (%s)", path, h.Get("Content-Digest"), len(body), digestOf(body))
	}
	if width > 0 {
		im, err := vips.Load(body, vips.LoadOptions{})
		if err != nil {
			return fmt.Errorf("%s: %d bytes do not load: %v", path, len(body), err)
		}
		defer im.Close()
		if im.Width() != width {
			return fmt.Errorf("%s: %d px wide, want %d", path, im.Width(), width)
		}
	}
	return nil
}

// outcome is one request of a load run.
type outcome struct {
	target     string
	start, end time.Time
	status     int   // 0: no answer (transport error)
	err        error // the transport error, or what was wrong with a 200
	nginxError bool  // an error answer Nginx made (X-Served-By: nginx)
}

// failed is any answer but a good 2xx.
func (o outcome) failed() bool { return o.status < 200 || o.status > 299 || o.err != nil }

// corrupt is a 2xx whose body was wrong: never acceptable.
func (o outcome) corrupt() bool { return o.status >= 200 && o.status <= 299 && o.err != nil }

func (o outcome) String() string {
	return fmt.Sprintf("%s at +%v: %d %v", o.target, o.start.Format("15:04:05.000"), o.status, o.err)
}

// loadTarget is one kind of request a load run sends.
type loadTarget struct {
	name  string
	req   func(i int) *http.Request
	check func(i int, h http.Header, body []byte) error // for 2xx answers
}

// runLoad sends requests from workers goroutines, cycling over targets,
// until stop is closed, and returns every outcome.
func runLoad(client *http.Client, workers int, targets []loadTarget, stop <-chan struct{}) []outcome {
	var (
		mu  sync.Mutex
		all []outcome
		wg  sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += workers {
				select {
				case <-stop:
					return
				default:
				}
				tg := targets[i%len(targets)]
				o := outcome{target: tg.name, start: time.Now()}
				resp, err := client.Do(tg.req(i))
				if err == nil {
					var body []byte
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					o.status = resp.StatusCode
					o.nginxError = resp.Header.Get("X-Served-By") == "nginx"
					if err == nil && o.status >= 200 && o.status <= 299 {
						err = tg.check(i, resp.Header, body)
					}
				}
				o.err = err
				o.end = time.Now()
				mu.Lock()
				all = append(all, o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return all
}

// uploadKey uploads body through the stack and returns its key.
func (s *stack) uploadKey(name string, body []byte) string {
	s.t.Helper()
	r := s.upload(name, body)
	if r.status != 201 && r.status != 200 {
		s.t.Fatalf("upload %s through Nginx: %d %s", name, r.status, r.body)
	}
	var u struct{ Key string }
	if err := json.Unmarshal(r.body, &u); err != nil {
		s.t.Fatal(err)
	}
	return u.Key
}

// waitFor polls cond every 20 ms until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}
