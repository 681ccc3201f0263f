package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pictorhq/pictor/server"
	"github.com/valyala/fasthttp"
)

// storeFaultHarness is a harness with one stored original, whose store
// directory sub (tmp or originals) is then replaced by mount commands,
// each run with the directory as its last argument (and for "DIR"). It
// skips where mounts are refused.
func storeFaultHarness(t *testing.T, sub string, mount ...[]string) (*harness, string) {
	t.Helper()
	h := newHarness(t, nil)
	key := h.uploadKey("../testdata/sample.jpg")
	dir := filepath.Join(h.dir, sub)
	for i, args := range mount {
		args = slices.Clone(args)
		for j := range args {
			if args[j] == "DIR" {
				args[j] = dir
			}
		}
		out, err := exec.Command("mount", append(args, dir)...).CombinedOutput()
		if err != nil {
			t.Skipf("cannot mount over %s here (needs root with CAP_SYS_ADMIN; make test as root on the dev machine and CI runs it, and store's TestWriteErrNoSpace and TestWriteErrMapping cover the mapping); mount %v: %v: %s", sub, args, err, out)
		}
		if i == 0 {
			t.Cleanup(func() {
				if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
					t.Errorf("unmount %s: %v", dir, err)
				}
			})
		}
	}
	return h, key
}

// checkStoreFault uploads new bytes and wants a 503 with msg; nothing may
// be left in tmp/ or added to originals/, and transforms of the stored
// original go on.
func checkStoreFault(t *testing.T, h *harness, key, msg string) {
	t.Helper()
	before := countFiles(t, filepath.Join(h.dir, "originals"))
	img := append(readFile(t, "../testdata/sample.jpg"), "new bytes"...)
	r := h.upload(img)
	wantError(t, r, 503)
	var e server.ErrorBody
	if json.Unmarshal(r.body, &e); e.Error != msg {
		t.Errorf("upload error %q, want %q", e.Error, msg)
	}
	if n := countFiles(t, filepath.Join(h.dir, "tmp")); n != 0 {
		t.Errorf("tmp/ holds %d files after the refused upload, want none", n)
	}
	if n := countFiles(t, filepath.Join(h.dir, "originals")); n != before {
		t.Errorf("originals/ holds %d files, had %d before the refused upload", n, before)
	}
	for _, opts := range []string{"w_100", "w_120,f_webp"} {
		path := h.signed(opts, key)
		if r := h.get(path); r.status != 200 {
			t.Errorf("GET %s with the store refusing writes: %v, want 200", path, r)
		}
	}
	// The process is fine, only the store is not: still healthy.
	if r := h.do(h.admin, "GET", "/healthz", nil); r.status != 200 {
		t.Errorf("healthz: %v", r)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A full file system under the store: 503 "originals store is full".
func TestUploadStoreFull(t *testing.T) {
	// 32 KiB: less than the 40 KiB upload, so it fills mid-write.
	h, key := storeFaultHarness(t, "tmp", []string{"-t", "tmpfs", "-o", "size=32k", "tmpfs"})
	checkStoreFault(t, h, key, "originals store is full")
}

// A read-only originals directory: 503 "originals store is not writable".
func TestUploadStoreReadOnly(t *testing.T) {
	h, key := storeFaultHarness(t, "originals", []string{"--bind", "DIR"}, []string{"-o", "remount,ro,bind"})
	checkStoreFault(t, h, key, "originals store is not writable")
	// The same bytes as a stored original need no write: 200, not 503.
	r := h.upload(readFile(t, "../testdata/sample.jpg"))
	var u server.UploadResponse
	if json.Unmarshal(r.body, &u); r.status != 200 || u.Key != key || u.Created {
		t.Errorf("re-upload of a stored original on a read-only store: %v, want 200 with created false", r)
	}
}

// TestUnparsableRequests: what fasthttp cannot read as a request still
// gets the JSON error body ({"error": ..., "status": N}) with the status
// fasthttp would have chosen.
func TestUnparsableRequests(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct {
		name, raw string
		status    int
	}{
		{"header block over the read buffer", "GET /o/x HTTP/1.1\r\nHost: p\r\nX-Big: " + strings.Repeat("a", 8<<10) + "\r\n\r\n", 431},
		{"no method or path", "\x00\x01\x02 garbage\r\n\r\n", 400},
		{"bad Content-Length", "POST /upload HTTP/1.1\r\nHost: p\r\nContent-Length: -5\r\n\r\n", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := h.client.Dial("pictor")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, c.raw); err != nil {
				t.Fatal(err)
			}
			var resp fasthttp.Response
			if err := resp.Read(bufio.NewReader(conn)); err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			r := response{status: resp.StatusCode(), header: map[string]string{}, body: bytes.Clone(resp.Body())}
			for k, v := range resp.Header.All() {
				r.header[string(k)] = string(v)
			}
			wantError(t, r, c.status)
		})
	}
}
