package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/ingest"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/vips"
)

// importCmd brings the images of a directory or of s3://bucket/prefix into
// the configured store (see package ingest): pictor import [flags] SOURCE.
func importCmd(args []string, stderr io.Writer) error {
	manifest, jobs := "pictor-import.jsonl", runtime.GOMAXPROCS(0)
	c, fs, err := loadWith("import", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&manifest, "manifest", manifest, "JSON-lines manifest, appended to; a re-run skips the sources it lists as stored")
		fs.IntVar(&jobs, "jobs", jobs, "images brought in at once")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 || jobs < 1 {
		return errors.New("usage: pictor import [flags] DIRECTORY | s3://BUCKET/PREFIX  (the store is PICTOR_STORE's; -manifest FILE, -jobs N)")
	}
	src, err := importSource(c, fs.Arg(0))
	if err != nil {
		return err
	}
	if err := vips.Startup(c.app.Vips); err != nil {
		return err
	}
	proc, err := transform.New(c.app.Transform, transform.Deps{})
	if err != nil {
		return err
	}
	st, err := app.OpenStore(c.app, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	done, err := ingest.ReadManifest(manifest)
	if err != nil {
		return fmt.Errorf("reading %s: %w", manifest, err)
	}
	mf, err := os.OpenFile(manifest, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer mf.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	bar := newProgress(stderr)
	start := time.Now()
	stats, err := ingest.Run(ctx, ingest.Config{MaxBytes: c.app.Server.MaxUploadBytes, Jobs: jobs},
		ingest.Deps{Store: st, Probe: proc.ProbeFile}, src, done, mf, bar.update)
	bar.finish()
	if stats != nil {
		secs := time.Since(start).Seconds()
		fmt.Fprintf(stderr, "pictor import: %d files in %.1fs (%.1f files/s, %.1f MB/s): %d new, %d already stored, %d skipped, %d errors; manifest %s\n",
			stats.Files.Load(), secs, float64(stats.Files.Load())/secs, float64(stats.Bytes.Load())/1e6/secs,
			stats.Created.Load(), stats.Exists.Load(), stats.Skipped.Load(), stats.Errors.Load(), manifest)
		if err == nil && stats.Errors.Load() > 0 {
			err = fmt.Errorf("%d files not imported (their errors are in %s)", stats.Errors.Load(), manifest)
		}
	}
	return err
}

// importSource is the directory or bucket arg names.
func importSource(c *config, arg string) (ingest.Source, error) {
	bucket, prefix, ok := ingest.ParseS3URL(arg)
	if !ok {
		if strings.HasPrefix(arg, "s3://") {
			return nil, fmt.Errorf("%q: want s3://BUCKET/PREFIX", arg)
		}
		if fi, err := os.Stat(arg); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%q is not a directory or s3://BUCKET/PREFIX", arg)
		}
		return ingest.Dir(arg), nil
	}
	if c.app.S3.Endpoint == "" {
		return nil, errors.New("an s3:// source needs PICTOR_S3_ENDPOINT (and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
	}
	client, redact, err := c.app.S3.Client()
	if err != nil {
		return nil, err
	}
	return ingest.Bucket{Client: client, Name: bucket, Prefix: prefix, Redact: redact}, nil
}

// progress draws a one-line progress bar on a terminal, at most ten times
// a second; elsewhere (a file, a pipe) it draws nothing.
type progress struct {
	w     io.Writer
	on    bool
	mu    sync.Mutex
	last  time.Time
	start time.Time
	drawn bool
}

func newProgress(w io.Writer) *progress {
	on := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{w: w, on: on, start: time.Now()}
}

func (p *progress) update(st *ingest.Stats, total int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(st.Files.Load())
	if n < total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := width * n / max(total, 1)
	secs := max(time.Since(p.start).Seconds(), 1e-3)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d files  %.1f files/s  %.1f MB/s  %d errors ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), n, total,
		float64(n)/secs, float64(st.Bytes.Load())/1e6/secs, st.Errors.Load())
	p.drawn = true
}

func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
