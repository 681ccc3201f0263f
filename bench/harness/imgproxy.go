package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// imgproxy is the peer Pictor has to beat (issue "Cold transforms ahead of
// imgproxy"): the harness starts the binary it is given, on a free
// loopback port, serving the corpus directory, and stops it at the end.
// No code of imgproxy is in this repository; the binary is built from its
// own repository (ImgproxySkipMessage says how).

// ImgproxyLabel is the target label, and the process group name, of the
// imgproxy the harness starts.
const ImgproxyLabel = "imgproxy"

// ImgproxyVersion is the release the figures compare with: v4.0.12 was
// slower on these workloads, so v3.31.4 is the one to beat.
const ImgproxyVersion = "v3.31.4"

// ImgproxySkipMessage says why scenarios that name imgproxy did not run
// and how to get a binary.
func ImgproxySkipMessage() string {
	return "no imgproxy binary: set IMGPROXY_BIN (or --imgproxy) to run the imgproxy peer. " +
		"Build imgproxy " + ImgproxyVersion + " outside this repository, with libvips-dev installed: " +
		"git clone --depth 1 --branch " + ImgproxyVersion + " https://github.com/imgproxy/imgproxy /tmp/imgproxy-" + ImgproxyVersion +
		" && (cd /tmp/imgproxy-" + ImgproxyVersion + " && go build -o /tmp/imgproxy-bin/imgproxy .)" +
		", then IMGPROXY_BIN=/tmp/imgproxy-bin/imgproxy make bench"
}

// imgproxyTemplate is imgproxy v3's unsigned URL for a variant served from
// its local filesystem root: fit to width {w}, height from the aspect
// ratio (0), quality {q}, output format {fmt}. q: is always given, so
// IMGPROXY_FORMAT_QUALITY's per-format defaults (79 for WebP) never apply.
func imgproxyTemplate(addr string) string {
	return "http://" + addr + "/insecure/rs:fit:{w}:0/q:{q}/plain/local:///{file}@{fmt}"
}

// imgproxyEnv is base without any IMGPROXY_ or glibc MALLOC_ setting (so
// no IMGPROXY_KEY or IMGPROXY_SALT: URLs are unsigned; and not the
// harness's own allocator settings, which scripts/bench.sh gives it), plus
// the peer's settings: bound
// to bind, the corpus directory as its local root, quality 80, and no
// ETag or Last-Modified, so that nothing can answer 304 (the harness
// sends no conditional requests either, and imgproxy keeps no cache of
// its own). IMGPROXY_WORKERS is left at its default, 2 × GOMAXPROCS;
// MALLOC_ARENA_MAX=2 is what imgproxy's own Docker image sets, and what
// Pictor's supervisord config sets for the sidecar.
func imgproxyEnv(base []string, root, bind string) []string {
	var env []string
	for _, kv := range base {
		if !strings.HasPrefix(kv, "IMGPROXY_") && !strings.HasPrefix(kv, "MALLOC_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"IMGPROXY_BIND="+bind,
		"IMGPROXY_LOCAL_FILESYSTEM_ROOT="+root,
		"IMGPROXY_QUALITY=80",
		"IMGPROXY_USE_ETAG=false",
		"IMGPROXY_USE_LAST_MODIFIED=false",
		"IMGPROXY_LOG_LEVEL=warn",
		// Pictor's PICTOR_MAX_FRAMES default, so that both keep every frame
		// of the animated scenario (imgproxy's default, 1, keeps the first).
		"IMGPROXY_MAX_ANIMATION_FRAMES=200",
		"MALLOC_ARENA_MAX=2",
	)
}

// imgproxyPeer is the started imgproxy.
type imgproxyPeer struct {
	bin    string
	target *Target
	cmd    *exec.Cmd
	log    *tailBuffer
	exited chan struct{}
}

// addImgproxy registers the imgproxy target when a binary was given. Its
// template gets its real address when it starts (startImgproxy).
func (c *cli) addImgproxy(fl *flagged) error {
	if c.imgproxyBin == "" {
		return nil
	}
	if fl.labels[ImgproxyLabel] {
		return fmt.Errorf("%w: --imgproxy starts the target %q; another target has that label", ErrUsage, ImgproxyLabel)
	}
	st, err := os.Stat(c.imgproxyBin)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: %s is not an executable file (IMGPROXY_BIN or --imgproxy); %s", ErrImgproxy, c.imgproxyBin, ImgproxySkipMessage())
	}
	t, err := NewPeerTarget(ImgproxyLabel, imgproxyTemplate("127.0.0.1:0"))
	if err != nil {
		return err
	}
	fl.labels[ImgproxyLabel] = true
	c.targets = append(c.targets, t)
	return nil
}

// imgproxyTarget is the target addImgproxy registered, or nil.
func (c *cli) imgproxyTarget() *Target {
	if c.imgproxyBin == "" {
		return nil
	}
	for _, t := range c.targets {
		if t.Label == ImgproxyLabel {
			return t
		}
	}
	return nil
}

// startImgproxy starts imgproxy, when a scenario uses it, and waits for
// its health check; its process group becomes the target's cost.
func (c *cli) startImgproxy(ctx context.Context, stderr io.Writer) error {
	t := c.imgproxyTarget()
	if t == nil || !c.used(t) {
		return nil
	}
	root, err := filepath.Abs(c.corpus)
	if err != nil {
		return err
	}
	version, _ := exec.CommandContext(ctx, c.imgproxyBin, "version").Output()
	v := strings.TrimSpace(string(version))
	if "v"+v != ImgproxyVersion {
		fmt.Fprintf(stderr, "bench: warning: %s says version %q; the peer to compare with is %s\n", c.imgproxyBin, v, ImgproxyVersion)
	}
	addr, err := freeLoopback()
	if err != nil {
		return err
	}
	p := &imgproxyPeer{bin: c.imgproxyBin, target: t, log: &tailBuffer{max: 16 << 10}, exited: make(chan struct{})}
	p.cmd = exec.Command(c.imgproxyBin)
	p.cmd.Env = imgproxyEnv(os.Environ(), root, addr)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	// Its own process group, so that Ctrl-C reaches the harness, which
	// stops it, rather than both at once; and killed if the harness dies.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("%w: %w", ErrImgproxy, err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	c.imgproxy = p
	if err := p.waitHealthy(ctx, addr, 30*time.Second); err != nil {
		return err
	}
	nt, err := NewPeerTarget(ImgproxyLabel, imgproxyTemplate(addr))
	if err != nil {
		return err
	}
	nt.Procs = []string{ImgproxyLabel}
	*t = *nt
	c.groups = append(c.groups, ProcGroup{Name: ImgproxyLabel, PIDs: []int{p.cmd.Process.Pid}})
	fmt.Fprintf(stderr, "bench: imgproxy %s on %s (pid %d), root %s, IMGPROXY_WORKERS at its default (2 × GOMAXPROCS)\n",
		v, addr, p.cmd.Process.Pid, root)
	return nil
}

// waitHealthy polls imgproxy's /health until it answers 200.
func (p *imgproxyPeer) waitHealthy(ctx context.Context, addr string, within time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(within); ; {
		resp, err := client.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%w: %s exited: %s", ErrImgproxy, p.bin, p.log.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s did not answer /health on %s within %v: %s", ErrImgproxy, p.bin, addr, within, p.log.String())
		}
	}
}

// stopImgproxy stops imgproxy, if started: SIGTERM, then SIGKILL after
// its graceful-stop time.
func (c *cli) stopImgproxy() error {
	p := c.imgproxy
	if p == nil {
		return nil
	}
	c.imgproxy = nil
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(25 * time.Second): // IMGPROXY_GRACEFUL_STOP_TIMEOUT is 20 s
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%w: did not stop on SIGTERM; killed", ErrImgproxy)
	}
	return nil
}

// freeLoopback is a loopback address the kernel had free a moment ago.
func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// tailBuffer keeps the last max bytes written to it: a server's log, for
// the error that says why it failed.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}
