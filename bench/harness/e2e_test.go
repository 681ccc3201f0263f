package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pictorhq/pictor/bench/report"
)

// TestMainAgainstPictor runs the harness's whole command line against the
// real pictor binary on a Unix socket, as the sidecar listens behind
// Nginx: upload of the corpus, every scenario, the /proc sampling of the
// server, the in-process baseline, the JSON file and the performance document's block.
func TestMainAgainstPictor(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short, which asks for no child processes: this test builds and starts the pictor binary; make test (no -short) runs it")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pictor")
	build := exec.Command("go", "build", "-o", bin, "../..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "p.sock")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := ln.Addr().String()
	ln.Close()
	var log bytes.Buffer
	srv := exec.Command(bin, "serve")
	srv.Env = append(os.Environ(),
		"PICTOR_LISTEN=unix:"+sock, "PICTOR_ADMIN_LISTEN="+admin, "PICTOR_DATA_DIR="+filepath.Join(dir, "data"),
		"PICTOR_SIGNING_KEYS="+testKeys, "PICTOR_UPLOAD_TOKENS="+testToken,
		"PICTOR_DECODE_CACHE_BYTES=0", "PICTOR_MEMORY_CACHE_BYTES=64MiB", "PICTOR_LOG_LEVEL=warn")
	srv.Stdout, srv.Stderr = &log, &log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			srv.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("pictor log:\n%s", log.String())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get("http://" + admin + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pictor did not become healthy: %v\n%s", err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	corpus := filepath.Join(dir, "corpus")
	os.Mkdir(corpus, 0o755)
	for _, n := range []string{"sample.jpg", "alpha.png"} {
		b, err := os.ReadFile(filepath.Join("../../testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(corpus, n), b, 0o644)
	}
	readme := filepath.Join(dir, "performance.md")
	os.WriteFile(readme, []byte("# x\n\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n\nrest\n"), 0o644)
	jsonPath := filepath.Join(dir, "results.json")

	// A peer that serves the corpus files as they are, at /{w}/{file}@{fmt}:
	// it shows that the distinct copies are where a peer reads them.
	var (
		peerMu    sync.Mutex
		peerFiles = map[string]int{}
	)
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		name, _, _ := strings.Cut(rest, "@")
		b, err := os.ReadFile(filepath.Join(corpus, filepath.FromSlash(name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		peerMu.Lock()
		peerFiles[name]++
		peerMu.Unlock()
		w.Write(b)
	}))
	defer peer.Close()

	var stdout, stderr bytes.Buffer
	err = Main(context.Background(), []string{
		"--target", "pictor=unix:" + sock,
		"--key", testKeys, "--token", testToken, "--corpus", corpus,
		"--pid", fmt.Sprintf("pictor=%d", srv.Process.Pid),
		"--template", "peer=" + peer.URL + "/{w}/{file}@{fmt}",
		"--pid", fmt.Sprintf("peer=%d", os.Getpid()), "--procs", "peer=peer", "--procs", "pictor=pictor",
		// Whole rounds: 2 originals × 5 widths, and 2 srcsets.
		"--scenario", "cold:max=20,conns=2,duration=30s,warmup=0s,targets=pictor",
		"--scenario", "srcset:max=4,conns=2,duration=30s,warmup=0s,targets=pictor",
		"--scenario", "hot:duration=500ms,warmup=100ms,conns=4,targets=pictor",
		"--scenario", "mixed:duration=500ms,warmup=0s,conns=2,targets=pictor",
		"--scenario", "upload:max=10,duration=10s,warmup=0s,conns=2",
		"--scenario", "distinct:name=vs-jpeg,file=sample.jpg,width=100,copies=6,conns=2,targets=pictor+peer",
		"--scenario", "widths:name=vs-widths,file=sample.jpg,widths=100-109,out=webp,conns=2,targets=pictor+peer",
		"--baseline", "--baseline-time", "2s", "--floor", "--floor-time", "2s", "--seed", "42",
		"--json", jsonPath, "--doc", readme, "--progress=false", "--note", "A note.",
	}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("Main: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("%s%s", stderr.String(), stdout.String())
	run, err := report.ReadJSON(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Results) != 9 {
		t.Fatalf("%d results, want 9", len(run.Results))
	}
	for _, r := range run.Results {
		if r.Requests == 0 || len(r.Errors) != 0 || r.Latency.P50 <= 0 || len(r.Processes) != 1 {
			t.Errorf("%s: %d requests, errors %v, p50 %.3f ms, %d processes", r.Scenario, r.Requests, r.Errors, r.Latency.P50, len(r.Processes))
		}
	}
	byName := map[string]report.Result{}
	for _, r := range run.Results {
		if r.Target == "pictor" {
			byName[r.Scenario] = r
		}
	}
	// Both sides of the peer scenarios: every request answered, each a
	// different copy (distinct) or width (widths); the copies are gone
	// after the run.
	if len(run.Comparisons) != 2 {
		t.Fatalf("%d comparisons, want 2: %+v", len(run.Comparisons), run.Comparisons)
	}
	for _, c := range run.Comparisons {
		want := map[string]int64{"vs-jpeg": 6, "vs-widths": 10}[c.Scenario]
		// The libvips floor of the same requests, and Pictor's CPU over it
		// among the ratios (wide bounds, as below).
		if f := c.Floor; f == nil || f.Label != FloorLabel || f.Requests < 1 || f.Requests > want || f.CPUPerRequest <= 0 {
			t.Errorf("%s: floor %+v; want up to %d requests that cost CPU", c.Scenario, f, want)
		} else if p, _ := c.FloorRatio(); p < 0.2 || p > 20 {
			t.Errorf("%s: Pictor's CPU ÷ the floor's = %.2f (%.2f ÷ %.2f ms)", c.Scenario, p, c.Pictor.CPUPerRequest, f.CPUPerRequest)
		}
		for _, sd := range []report.Side{c.Pictor, c.Peer} {
			if sd.Requests != want || sd.Errors != 0 || sd.Throughput <= 0 || sd.BytesPerRequest <= 0 || sd.PeakRSSBytes <= 0 {
				t.Errorf("%s, %s: %+v; want %d requests answered, and the server's process read", c.Scenario, sd.Target, sd, want)
			}
		}
	}
	copies := 0
	for name, n := range peerFiles {
		if strings.HasPrefix(name, copiesDirPrefix) {
			copies++
			if n != 1 {
				t.Errorf("the peer was asked for %s %d times", name, n)
			}
		}
	}
	if copies != 6 || peerFiles["sample.jpg"] != 10 {
		t.Errorf("the peer served %d copies and sample.jpg %d times, want 6 and 10: %v", copies, peerFiles["sample.jpg"], peerFiles)
	}
	if ents, _ := filepath.Glob(filepath.Join(corpus, copiesDirPrefix+"*")); len(ents) != 0 {
		t.Errorf("copies left in the corpus: %v", ents)
	}
	if cold := byName["cold"]; cold.Requests != 20 || cold.Processes[0].CPUSeconds <= 0 || cold.Bytes == 0 {
		t.Errorf("cold: %d requests, %.2f CPU-s, %d bytes: want 20 requests that cost the server CPU", cold.Requests, cold.Processes[0].CPUSeconds, cold.Bytes)
	}
	if hot := byName["hot"]; hot.Throughput < 10*byName["cold"].Throughput {
		t.Errorf("hot %.0f req/s is not far above cold %.0f req/s: the hot set is not being served from memory", hot.Throughput, byName["cold"].Throughput)
	}
	ratios := map[string]report.Ratio{}
	for _, q := range run.Ratios {
		ratios[strings.Fields(q.Name)[0]] = q
	}
	// Wide bounds: they only catch a ratio computed from the wrong
	// figures (a unit off by 1000, the wrong process, no decode at all).
	if q, ok := ratios["cold"]; !ok || q.Value < 0.3 || q.Value > 5 {
		t.Errorf("cold ratio = %+v, want one near 1", q)
	}
	if q, ok := ratios["srcset"]; !ok || q.Value <= 0.05 || q.Value > 2 {
		t.Errorf("srcset ratio = %+v, want one below 1", q)
	}
	floorRatios := 0
	for _, q := range run.Ratios {
		if strings.Contains(q.Name, "÷ "+FloorLabel) {
			floorRatios++
		}
	}
	if floorRatios != 2 {
		t.Errorf("%d ratios over the libvips floor, want 2 (one per peer scenario)", floorRatios)
	}
	if !strings.Contains(stdout.String(), "SCENARIO") || !strings.Contains(stdout.String(), "pictor ÷ "+FloorLabel) {
		t.Errorf("no table on stdout:\n%s", stdout.String())
	}
	doc, _ := os.ReadFile(readme)
	if !strings.Contains(string(doc), "| cold |") || !strings.Contains(string(doc), "| "+FloorLabel+" |") || strings.Contains(string(doc), "old\n") ||
		!strings.HasSuffix(string(doc), "\n\nA note.\n<!-- bench:end -->\n\nrest\n") {
		t.Errorf("performance document block not rewritten:\n%s", doc)
	}
}
