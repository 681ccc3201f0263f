package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pictorhq/pictor/internal/benchenv"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/valyala/fasthttp"
)

// procCPU is the CPU time (user + system) process pid has used, from
// /proc/<pid>/stat, in clock ticks of 10 ms.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the whole line.
	rest := string(raw[strings.LastIndexByte(string(raw), ')')+2:])
	f := strings.Fields(rest)
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// BenchmarkColdHTTP compares the server's CPU per cold request with the
// in-process pipeline's CPU per image, same photo and options, same run.
// Every cache (memory, disk, decoded originals) is off so every request
// runs the whole pipeline; requests go
// one at a time over a keep-alive fasthttp connection. Run it with
// -benchtime 200x or more.
func BenchmarkColdHTTP(b *testing.B) {
	dir := benchenv.Corpus(b, "..")
	for _, c := range []struct{ file, opts string }{
		{"photo-3840x2400.jpg", "w_400,f_jpeg"},
		{"photo-3840x2400.jpg", "w_400,f_webp"},
		{"photo-3700x2400.png", "w_400,f_webp"},
	} {
		b.Run(strings.TrimSuffix(c.file, filepath.Ext(c.file))+"/"+c.opts, func(b *testing.B) {
			in := start(b, "PICTOR_MEMORY_CACHE_BYTES=0", "PICTOR_DISK_CACHE_BYTES=0", "PICTOR_DECODE_CACHE_BYTES=0")
			key := in.uploadFile(filepath.Join(dir, c.file))
			url := in.base + in.signed(c.opts, key)
			client := &fasthttp.Client{MaxConnsPerHost: 1, ReadTimeout: time.Minute}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(url)
			get := func() {
				if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					b.Fatalf("GET %s: %v %d", url, err, resp.StatusCode())
				}
			}
			get() // warm: page cache, libvips start-up
			pid := in.cmd.Process.Pid
			b.ResetTimer()
			cpu0 := procCPU(b, pid)
			for i := 0; i < b.N; i++ {
				get()
			}
			server := procCPU(b, pid) - cpu0
			b.StopTimer()

			// The same work in this process, through the same pipeline code.
			src, _ := os.ReadFile(filepath.Join(dir, c.file))
			p, err := transform.New(transform.DefaultConfig(), transform.Deps{})
			if err != nil {
				b.Fatal(err)
			}
			o, _ := in.parser.Parse(c.opts)
			srcFmt, _ := format.FromExt(strings.TrimPrefix(filepath.Ext(c.file), "."))
			tr := transform.Request{Options: o, Output: transform.Negotiate(o, srcFmt, nil, false)}
			n := max(b.N/2, 50)
			self0 := benchenv.CPUTime()
			for i := 0; i < n; i++ {
				if _, err := p.Process(context.Background(), src, tr); err != nil {
					b.Fatal(err)
				}
			}
			pipeline := (benchenv.CPUTime() - self0) / time.Duration(n)
			perReq := server / time.Duration(b.N)
			b.ReportMetric(float64(perReq.Microseconds())/1e3, "server-ms-cpu/op")
			b.ReportMetric(float64(pipeline.Microseconds())/1e3, "pipeline-ms-cpu/op")
			b.ReportMetric(float64(perReq)/float64(pipeline), "server/pipeline")
		})
	}
}

// BenchmarkHotHTTP measures repeated-variant throughput: memory-tier hits
// over loopback with the fasthttp client, 16 connections. Before the hot
// run it measures the cold rate of the same server on the same image (a
// new width per request, 2 connections for the 2 workers), and reports
// the hot rate as a multiple of it.
func BenchmarkHotHTTP(b *testing.B) {
	in := start(b)
	key := in.uploadFile("../testdata/sample.jpg")
	url := in.base + in.signed("w_300,f_webp", key)
	client := &fasthttp.Client{MaxConnsPerHost: 16}
	var fails atomic.Int64

	const cold = 40
	var next atomic.Int64
	coldStart := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			for {
				n := next.Add(1)
				if n > cold {
					return
				}
				req.SetRequestURI(in.base + in.signed("w_"+strconv.Itoa(200+int(n))+",f_webp", key))
				if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 || string(resp.Header.Peek("X-Cache")) != "miss" {
					fails.Add(1)
				}
			}
		})
	}
	wg.Wait()
	coldRate := cold / time.Since(coldStart).Seconds()

	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI(url)
		for pb.Next() {
			if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				fails.Add(1)
			}
		}
	})
	hot := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(hot, "req/s")
	b.ReportMetric(coldRate, "cold-req/s")
	b.ReportMetric(hot/coldRate, "hot/cold")
	if f := fails.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N+cold)
	}
}
