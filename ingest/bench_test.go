package ingest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pictorhq/pictor/internal/miniotest"
	"github.com/pictorhq/pictor/store"
)

// BenchmarkImport brings the 18 JPEGs of testdata's EXIF orientation set
// (1200×1800 and 1800×1200, 4.5 MB in all) into a fresh store per
// iteration, 4 at a time, and reports files/s and MB/s: into the data
// directory (fs), and into MinIO (s3).
//
// Run: go test -run '^$' -bench BenchmarkImport -benchtime 5x ./ingest/
func BenchmarkImport(b *testing.B) {
	dir := b.TempDir() // the JPEGs without the set's LICENSE
	jpegs, _ := filepath.Glob("../testdata/corpus/exif-orientation/*.jpg")
	for _, p := range jpegs {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(p)), data, 0o644)
	}
	src := Dir(dir)
	srv := miniotest.Start(b)
	for _, backend := range []string{"fs", "s3"} {
		b.Run(backend, func(b *testing.B) {
			var files, bytes int64
			var took time.Duration
			for i := range b.N {
				var s store.Store
				var err error
				if backend == "fs" {
					s, err = store.Open(store.Config{Dir: b.TempDir()})
				} else {
					c := store.DefaultS3Config()
					c.Endpoint, c.Bucket, c.Prefix = srv.Endpoint, srv.Bucket, fmt.Sprintf("run%d-%d", time.Now().UnixNano(), i) // a fresh prefix: nothing already stored
					c.AccessKey, c.SecretKey = srv.AccessKey, srv.SecretKey
					s, err = store.OpenS3(store.Config{Dir: b.TempDir()}, c, nil)
				}
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				st, err := Run(context.Background(), Config{MaxBytes: 50 << 20, Jobs: 4}, deps(b, s), src, nil, io.Discard, nil)
				took += time.Since(start)
				s.Close()
				if err != nil || st.Errors.Load() != 0 || st.Created.Load() != st.Files.Load() {
					b.Fatalf("Run = %v, %d errors, %d of %d created", err, st.Errors.Load(), st.Created.Load(), st.Files.Load())
				}
				files += st.Files.Load()
				bytes += st.Bytes.Load()
			}
			b.ReportMetric(float64(files)/took.Seconds(), "files/s")
			b.ReportMetric(float64(bytes)/1e6/took.Seconds(), "MB/s")
		})
	}
}
