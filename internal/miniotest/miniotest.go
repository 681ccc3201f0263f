// Package miniotest starts a real MinIO server for tests: on loopback, on
// an ephemeral port, over a temporary directory, with credentials of its
// own, and stops it when the test ends.
//
// The binary is found as $PICTOR_MINIO_BIN, then minio on PATH, then
// $GOPATH/bin/minio ($HOME/go/bin/minio); scripts/minio.sh builds it there.
// When it is missing, a test is skipped with how to install it, unless
// PICTOR_REQUIRE_MINIO=1 (which make test sets): then it fails.
package miniotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Server is one MinIO process.
type Server struct {
	// Endpoint is its URL, e.g. "http://127.0.0.1:39171".
	Endpoint string
	// AccessKey and SecretKey are its root credentials, random per server.
	AccessKey, SecretKey string
	// Bucket exists, empty, when Start returns.
	Bucket string

	t    testing.TB
	bin  string
	addr string
	dir  string
	logf string // the server's output, kept across restarts
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Binary returns the path of the MinIO server binary, or "" when none is
// installed.
func Binary() string {
	if p := os.Getenv("PICTOR_MINIO_BIN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin", "minio")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// Require skips t (or, under PICTOR_REQUIRE_MINIO=1, fails it) when there
// is no MinIO binary, and returns its path otherwise.
func Require(t testing.TB) string {
	t.Helper()
	bin := Binary()
	if bin != "" {
		return bin
	}
	const how = "no MinIO server binary: run scripts/minio.sh (go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c, about 8 minutes) or set PICTOR_MINIO_BIN"
	if os.Getenv("PICTOR_REQUIRE_MINIO") == "1" {
		t.Fatal(how + " (PICTOR_REQUIRE_MINIO=1)")
	}
	t.Skip(how + "; make test installs it and runs these tests, failing instead of skipping")
	return ""
}

// Start starts a MinIO server with a fresh bucket; it is killed when t
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Require(t)
	s := &Server{
		t: t, bin: bin, dir: t.TempDir(), logf: filepath.Join(t.TempDir(), "minio.log"),
		AccessKey: "pictor" + randHex(6), SecretKey: randHex(20), Bucket: "pictor-test",
	}
	var err error
	for range 3 { // a port picked free can be taken before MinIO binds it
		s.addr = freeAddr(t)
		s.Endpoint = "http://" + s.addr
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting MinIO: %v", err)
	}
	t.Cleanup(s.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Client().MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("creating bucket: %v", err)
	}
	return s
}

func (s *Server) start() error {
	cmd := exec.Command(s.bin, "server", "--quiet", "--address", s.addr, "--console-address", freeAddr(s.t), s.dir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	log, err := os.OpenFile(s.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	// Killed with the test binary, even when it dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); log.Close(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			b, _ := os.ReadFile(log.Name())
			return fmt.Errorf("minio exited: %s", tail(b))
		default:
		}
		if resp, err := http.Get(s.Endpoint + "/minio/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("minio not ready at %s after 30s", s.addr)
}

// Stop kills the server; its data stays for Restart. Safe to call twice.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGCONT) // a paused process cannot die of SIGKILL until resumed on some kernels
	cmd.Process.Kill()
	<-done
}

// Restart starts the stopped server again, on the same address and data.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("restarting MinIO: %v", err)
	}
}

// Pause freezes the server (SIGSTOP): connections are accepted by the
// kernel but never answered, as with a store that hangs. Resume undoes it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.cmd.Process.Signal(sig)
	}
}

// Client is a minio client with the root credentials.
func (s *Server) Client() *minio.Client {
	c, err := minio.New(s.addr, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// Env is the environment a pictor process needs to use this server as its
// store, credentials included.
func (s *Server) Env() []string {
	return []string{
		"PICTOR_STORE=s3", "PICTOR_S3_ENDPOINT=" + s.Endpoint, "PICTOR_S3_BUCKET=" + s.Bucket,
		"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
	}
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
