package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/pictorhq/pictor/internal/miniotest"
	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/vips"
)

func TestMain(m *testing.M) {
	if err := vips.Startup(vips.DefaultConfig()); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

func deps(t *testing.T, s store.Store) Deps {
	t.Helper()
	proc, err := transform.New(transform.DefaultConfig(), transform.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return Deps{Store: s, Probe: proc.ProbeFile}
}

// sourceFiles is a directory of what an import meets: images (one twice,
// under two names), a file that is not an image, and one over the limit.
func sourceFiles(t *testing.T) (dir string, want map[string]string) {
	t.Helper()
	dir = t.TempDir()
	jpg, _ := os.ReadFile("../testdata/sample.jpg")
	png, _ := os.ReadFile("../testdata/alpha.png")
	files := map[string][]byte{
		"a/photo.jpg":      jpg,
		"a/copy-of-it.jpg": jpg,
		"b/alpha.png":      png,
		"notes.txt":        []byte("not an image at all, just words"),
		"big.png":          append(bytes.Clone(png), make([]byte, 2<<20)...),
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, map[string]string{
		"a/photo.jpg": "ok", "a/copy-of-it.jpg": "ok", "b/alpha.png": "ok",
		"notes.txt": "not an allowed image type", "big.png": "over the size limit",
	}
}

func runImport(t *testing.T, d Deps, src Source, manifest string) (*Stats, []Entry) {
	t.Helper()
	done, err := ReadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(manifest, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	st, err := Run(context.Background(), Config{MaxBytes: 1 << 20, Jobs: 3}, d, src, done, &buf, nil)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	f.Write(buf.Bytes())
	var entries []Entry
	for line := range strings.Lines(buf.String()) {
		var e Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("manifest line %q: %v", line, err)
		}
		entries = append(entries, e)
	}
	return st, entries
}

func checkImport(t *testing.T, s store.Store, d Deps, src Source, root string, want map[string]string) {
	manifest := filepath.Join(t.TempDir(), "manifest.jsonl")
	st, entries := runImport(t, d, src, manifest)
	if len(entries) != len(want) {
		t.Fatalf("manifest has %d lines, want %d", len(entries), len(want))
	}
	keys := map[string]bool{}
	for _, e := range entries {
		name := strings.TrimPrefix(strings.TrimPrefix(e.Source, root), "/")
		w := want[name]
		switch {
		case w == "ok" && (e.Key == "" || (e.Status != "created" && e.Status != "exists")):
			t.Errorf("%s: %+v, want stored", name, e)
		case w == "ok":
			keys[e.Key] = true
			if ok, err := s.Exists(e.Key); !ok || err != nil {
				t.Errorf("%s: key %s not in the store (%v)", name, e.Key, err)
			}
		case e.Status != "error" || !strings.Contains(e.Error, w) || e.Key != "":
			t.Errorf("%s: %+v, want the error %q", name, e, w)
		}
	}
	if len(keys) != 2 || st.Created.Load() != 2 || st.Exists.Load() != 1 || st.Errors.Load() != 2 {
		t.Errorf("%d keys, stats created %d exists %d errors %d; want 2 keys, 2 created, 1 duplicate, 2 errors",
			len(keys), st.Created.Load(), st.Exists.Load(), st.Errors.Load())
	}
	// A re-run reads the manifest and skips every stored source unread.
	st, entries = runImport(t, d, src, manifest)
	if st.Skipped.Load() != 3 || st.Created.Load() != 0 || st.Bytes.Load() >= 4<<20 {
		t.Errorf("re-run: skipped %d, created %d, read %d bytes; want 3 skipped, 0 created, only the failures read",
			st.Skipped.Load(), st.Created.Load(), st.Bytes.Load())
	}
	for _, e := range entries {
		if e.Status == "skipped" && e.Key == "" {
			t.Errorf("skipped entry without its key: %+v", e)
		}
	}
}

func TestImportDirIntoFS(t *testing.T) {
	dir, want := sourceFiles(t)
	s, err := store.Open(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkImport(t, s, deps(t, s), Dir(dir), dir, want)
}

// From a bucket into the S3 store, both on one MinIO.
func TestImportBucketIntoS3(t *testing.T) {
	srv := miniotest.Start(t)
	dir, want := sourceFiles(t)
	ctx := context.Background()
	client := srv.Client()
	if err := client.MakeBucket(ctx, "legacy", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if _, err := client.FPutObject(ctx, "legacy", "old/"+name, filepath.Join(dir, name), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c := store.DefaultS3Config()
	c.Endpoint, c.Bucket, c.AccessKey, c.SecretKey = srv.Endpoint, srv.Bucket, srv.AccessKey, srv.SecretKey
	s, err := store.OpenS3(store.Config{Dir: t.TempDir()}, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sc, redact, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	checkImport(t, s, deps(t, s), Bucket{Client: sc, Name: "legacy", Prefix: "old/", Redact: redact}, "s3://legacy/old", want)
}

func TestParseS3URL(t *testing.T) {
	for _, tt := range []struct {
		in, bucket, prefix string
		ok                 bool
	}{
		{"s3://b/p/q", "b", "p/q", true},
		{"s3://b", "b", "", true},
		{"s3:///p", "", "p", false},
		{"/srv/images", "", "", false},
	} {
		b, p, ok := ParseS3URL(tt.in)
		if b != tt.bucket || p != tt.prefix || ok != tt.ok {
			t.Errorf("ParseS3URL(%q) = %q, %q, %v; want %q, %q, %v", tt.in, b, p, ok, tt.bucket, tt.prefix, tt.ok)
		}
	}
}
