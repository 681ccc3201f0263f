package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/ingest"
)

func TestLoadS3Settings(t *testing.T) {
	t.Setenv("PICTOR_STORE", "s3")
	t.Setenv("PICTOR_S3_ENDPOINT", "http://127.0.0.1:9000")
	t.Setenv("PICTOR_S3_BUCKET", "originals")
	t.Setenv("PICTOR_S3_PREFIX", "site-a")
	t.Setenv("PICTOR_S3_SYNC_INTERVAL", "2s")
	t.Setenv("PICTOR_ORIGINALS_CACHE_BYTES", "1GiB")
	c, _, err := load("serve", nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	s3 := c.app.S3
	if c.app.Store.Backend != "s3" || s3.Endpoint != "http://127.0.0.1:9000" || s3.Bucket != "originals" ||
		s3.Prefix != "site-a" || s3.Region != "us-east-1" || s3.SyncInterval.Seconds() != 2 || s3.CacheBytes != 1<<30 {
		t.Errorf("store %q, S3 config %+v", c.app.Store.Backend, s3)
	}
}

func TestLoadS3Errors(t *testing.T) {
	for _, tt := range []struct{ env, val, want string }{
		{"PICTOR_STORE", "ftp", `PICTOR_STORE: "ftp": want fs, s3`},
		{"PICTOR_S3_ENDPOINT", "", "PICTOR_S3_ENDPOINT: must not be empty with PICTOR_STORE=s3"},
		{"PICTOR_S3_BUCKET", "", "PICTOR_S3_BUCKET: must not be empty with PICTOR_STORE=s3"},
		{"PICTOR_S3_SYNC_INTERVAL", "0s", "PICTOR_S3_SYNC_INTERVAL: must be > 0"},
		{"PICTOR_ORIGINALS_CACHE_BYTES", "0", "PICTOR_ORIGINALS_CACHE_BYTES: must be >= 1"},
	} {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv("PICTOR_STORE", "s3")
			t.Setenv("PICTOR_S3_ENDPOINT", "http://127.0.0.1:9000")
			t.Setenv("PICTOR_S3_BUCKET", "b")
			t.Setenv(tt.env, tt.val)
			if _, _, err := load("serve", nil, &bytes.Buffer{}); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("%s=%q: load = %v, want %q", tt.env, tt.val, err, tt.want)
			}
		})
	}
	// With the fs store the S3 settings may stay empty.
	t.Setenv("PICTOR_STORE", "fs")
	if _, _, err := load("serve", nil, &bytes.Buffer{}); err != nil {
		t.Errorf("fs store without S3 settings: %v", err)
	}
}

// pictor import over a directory: a manifest line per file, and a re-run
// that skips them all.
func TestImportCommand(t *testing.T) {
	src, data := t.TempDir(), t.TempDir()
	img, _ := os.ReadFile("testdata/sample.jpg")
	os.WriteFile(filepath.Join(src, "a.jpg"), img, 0o644)
	os.WriteFile(filepath.Join(src, "b.txt"), []byte("words, not pixels"), 0o644)
	manifest := filepath.Join(t.TempDir(), "m.jsonl")
	var out bytes.Buffer
	err := importCmd([]string{"-data-dir", data, "-manifest", manifest, src}, &out)
	if err == nil || !strings.Contains(err.Error(), "1 files not imported") {
		t.Errorf("import with one bad file = %v, want it reported", err)
	}
	if !strings.Contains(out.String(), "2 files") || !strings.Contains(out.String(), "1 new") {
		t.Errorf("summary = %q", out.String())
	}
	done, err := ingest.ReadManifest(manifest)
	if err != nil || len(done) != 2 || done[filepath.Join(src, "a.jpg")].Status != "created" || done[filepath.Join(src, "b.txt")].Status != "error" {
		t.Fatalf("manifest = %+v, %v", done, err)
	}
	out.Reset()
	importCmd([]string{"-data-dir", data, "-manifest", manifest, src}, &out)
	if !strings.Contains(out.String(), "1 skipped") {
		t.Errorf("re-run summary = %q, want the stored file skipped", out.String())
	}
	for _, args := range [][]string{{}, {"/nonexistent/dir"}, {"s3://"}} {
		if err := importCmd(args, &out); err == nil {
			t.Errorf("import %q = nil, want an error", args)
		}
	}
}
