package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pictorhq/pictor/internal/miniotest"
	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform/device"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchOriginal is a 1800×1200 JPEG of 347 KB.
const benchOriginal = "../testdata/corpus/exif-orientation/Landscape_1.jpg"

// BenchmarkColdTransformStore is one cold variant (a width never asked for
// before, no variant tier, no decoded-original cache: decode, resize to
// 400 px wide, encode) of an original kept
//
//   - fs: in the data directory;
//   - s3-local: in MinIO, with the local copy already held;
//   - s3-fetch: in MinIO, fetched and verified first (the local copy is
//     dropped before each request).
//
// Run: go test -run '^$' -bench BenchmarkColdTransformStore -benchtime 50x ./app/
func BenchmarkColdTransformStore(b *testing.B) {
	img, err := os.ReadFile(benchOriginal)
	if err != nil {
		b.Fatal(err)
	}
	srv := miniotest.Start(b)
	for _, bc := range []struct {
		name  string
		s3    bool
		fetch bool
	}{{"fs", false, false}, {"s3-local", true, false}, {"s3-fetch", true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			a, client := benchApp(b, func(c *Config) {
				if bc.s3 {
					c.Store.Backend = store.BackendS3
					c.S3.Endpoint, c.S3.Bucket = srv.Endpoint, srv.Bucket
					c.S3.Prefix = bc.name
					c.S3.AccessKey, c.S3.SecretKey = srv.AccessKey, srv.SecretKey
				}
			})
			key := benchDo(b, client, "POST", "/upload", img)
			parser := a.Server().Parser
			b.ResetTimer()
			for i := range b.N {
				if bc.fetch {
					b.StopTimer()
					a.Store().Delete(key) // the local copy only; the object stays
					b.StartTimer()
				}
				raw := fmt.Sprintf("w_%d", 400+i%1000)
				o, err := parser.Parse(raw)
				if err != nil {
					b.Fatal(err)
				}
				path, err := a.Signer().VariantPath(parser, raw, o, key)
				if err != nil {
					b.Fatal(err)
				}
				benchDo(b, client, "GET", path, nil)
			}
			b.StopTimer()
			if s, ok := a.Originals().(*store.S3); ok && bc.fetch && s.Fetches() < int64(b.N) {
				b.Fatalf("%d fetches for %d requests", s.Fetches(), b.N)
			}
		})
	}
}

// benchApp is an App with no variant tiers and no decoded-original cache,
// so that every request is a cold transform.
func benchApp(b *testing.B, edit func(*Config)) (*App, *fasthttp.Client) {
	dir := b.TempDir()
	cfg := DefaultConfig()
	cfg.Store.Dir = dir
	cfg.Disk.Dir, cfg.Disk.MaxBytes = filepath.Join(dir, "cache"), 0
	cfg.Memory.MaxBytes, cfg.Decoded.MaxBytes = 0, 0
	cfg.Device.Mode = device.ModeOff
	cfg.Server.UploadTokens = []string{testToken}
	cfg.Sign.Keys = []sign.Key{{ID: "k1", Secret: []byte("app-test-secret-0123456789")}}
	edit(&cfg)
	a, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	go a.Serve(ln, nil)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Shutdown(ctx)
		a.Close()
	})
	return a, &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

// benchDo sends a request, fails b unless it succeeds, and returns the
// uploaded key for an upload.
func benchDo(b *testing.B, c *fasthttp.Client, method, path string, body []byte) string {
	code, resp := request(b, c, method, path, body)
	if code >= 300 {
		b.Fatalf("%s %s: %d %s", method, path, code, resp)
	}
	if method == "POST" {
		var up struct{ Key string }
		if err := json.Unmarshal(resp, &up); err != nil {
			b.Fatal(err)
		}
		return up.Key
	}
	return ""
}
