package report

import "time"

// The results model: what the harness measures and what every output
// (terminal table, JSON file, HTML report) is made from. JSON field names
// are part of the results file's format; times are seconds, latencies
// milliseconds, sizes bytes, so the file reads without a schema.

// Run is one invocation of the harness: every scenario against every
// target, plus the ratios computed across them.
type Run struct {
	Started time.Time `json:"started"`
	// Command is the command line that produced the run, for the performance document.
	Command string   `json:"command"`
	Machine Machine  `json:"machine"`
	Results []Result `json:"results"`
	// Ratios compare results with each other or with an in-process
	// baseline (cold CPU per request ÷ pipeline CPU per image, srcset
	// variant CPU ÷ cold variant CPU, ...).
	Ratios []Ratio `json:"ratios,omitempty"`
	// Comparisons set Pictor beside a peer on scenarios that asked both
	// the same requests in the same order.
	Comparisons []Comparison `json:"comparisons,omitempty"`
}

// Machine is what the run ran on.
type Machine struct {
	CPU       string `json:"cpu"`   // model name from /proc/cpuinfo
	Cores     int    `json:"cores"` // runtime.NumCPU
	MemBytes  int64  `json:"mem_bytes"`
	Kernel    string `json:"kernel"`
	OS        string `json:"os"` // PRETTY_NAME from /etc/os-release
	GoVersion string `json:"go_version"`
}

// Result is one scenario run against one target.
type Result struct {
	Scenario string `json:"scenario"` // cold, srcset, hot, mixed, upload
	// Target names what was measured: "pictor-nginx", "pictor-direct",
	// or a peer's label such as "imgproxy".
	Target string `json:"target"`
	// URL is the base URL or the URL template the requests were made from.
	URL         string  `json:"url"`
	Mode        string  `json:"mode"` // "closed" (N connections) or "open" (fixed arrival rate)
	Connections int     `json:"connections"`
	Rate        float64 `json:"rate,omitempty"` // open loop: intended arrivals per second
	Seconds     float64 `json:"seconds"`        // wall time of the measured part
	Requests    int64   `json:"requests"`       // requests completed (any status)
	// Errors counts failed requests by kind: an HTTP status ("429",
	// "503"), or "timeout", "conn" for transport failures.
	Errors      map[string]int64 `json:"errors,omitempty"`
	Bytes       int64            `json:"bytes"` // response body bytes received
	Throughput  float64          `json:"throughput"`
	BytesPerSec float64          `json:"bytes_per_sec"`
	// Latency of successful and failed requests alike. In open-loop mode it
	// is measured from each request's intended send time.
	Latency Percentiles `json:"latency_ms"`
	// CDF is the latency distribution, fractions increasing to 1.
	CDF []CDFPoint `json:"cdf,omitempty"`
	// Timeline has one sample per interval (normally one second).
	Timeline  []Sample  `json:"timeline,omitempty"`
	Processes []Process `json:"processes,omitempty"`
}

// Percentiles of latency in milliseconds.
type Percentiles struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// CDFPoint says that Fraction of requests took at most LatencyMs.
type CDFPoint struct {
	LatencyMs float64 `json:"latency_ms"`
	Fraction  float64 `json:"fraction"`
}

// Sample is one interval of a run.
type Sample struct {
	T        float64 `json:"t"` // seconds since the measured part began, interval end
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P99      float64 `json:"p99_ms"`
}

// Process is a server process group (Nginx master and workers, the
// sidecar) whose cost the harness read from /proc while the result ran.
type Process struct {
	Name string `json:"name"`
	PIDs []int  `json:"pids"`
	// CPUSeconds is user+system CPU used during the result, summed over PIDs.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUPerRequest is CPUSeconds ÷ requests, in milliseconds.
	CPUPerRequest float64     `json:"cpu_ms_per_request"`
	PeakRSSBytes  int64       `json:"peak_rss_bytes"` // max of the summed RSS samples
	RSS           []RSSSample `json:"rss,omitempty"`
}

// RSSSample is the summed resident set of a Process at time T.
type RSSSample struct {
	T     float64 `json:"t"`
	Bytes int64   `json:"bytes"`
}

// Ratio is a derived figure, usually checked against a target.
type Ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Target float64 `json:"target,omitempty"` // 0 when there is none
	// Better is "lower" or "higher": which side of Target meets it.
	Better string `json:"better,omitempty"`
	Met    bool   `json:"met"`
	Detail string `json:"detail,omitempty"` // how it was computed, in words
}

// Comparison is Pictor and a peer on one scenario, side by side.
type Comparison struct {
	Scenario string `json:"scenario"`
	// Workload says in words what every request asked for.
	Workload string `json:"workload"`
	Pictor   Side   `json:"pictor"`
	Peer     Side   `json:"peer"`
	// Floor is the same work made by plain libvips calls in the harness
	// process; nil when it was not measured.
	Floor *Floor `json:"floor,omitempty"`
}

// Floor is the in-process libvips floor of a Comparison: its requests made
// again in the harness process by a libvips user's plain calls
// (shrink-on-load, a Lanczos3 resize, save at the same quality), with no
// HTTP, store, cache or queue, timed in CPU. A server's CPU per request
// over it is the cost of everything the server adds to libvips.
type Floor struct {
	Label    string  `json:"label"`    // how the tables name it: "libvips floor"
	Requests int64   `json:"requests"` // transforms timed
	Workers  int     `json:"workers"`  // transforms at once
	Seconds  float64 `json:"seconds"`  // wall time of the timed part
	// CPUPerRequest is the harness process's CPU per transform, in
	// milliseconds.
	CPUPerRequest float64 `json:"cpu_ms_per_request"`
	Detail        string  `json:"detail,omitempty"` // how it was made, in words
}

// Side is one server's figures in a Comparison.
type Side struct {
	Target   string `json:"target"`
	Requests int64  `json:"requests"`
	Errors   int64  `json:"errors"`
	// Throughput is successful requests per second.
	Throughput float64 `json:"throughput"`
	// CPUPerRequest is the server's CPU (every process group of its
	// target) per request, in milliseconds; 0 when it was not read.
	CPUPerRequest   float64 `json:"cpu_ms_per_request"`
	P50             float64 `json:"p50_ms"`
	P99             float64 `json:"p99_ms"`
	BytesPerRequest float64 `json:"bytes_per_request"` // response bodies
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`    // 0 when it was not read
}

// SideRatio is Pictor's figure over the peer's, column by column: above 1
// is better for Throughput, below 1 for the others; 0 where either figure
// is unknown.
type SideRatio struct {
	Throughput, CPUPerRequest, P50, P99, BytesPerRequest, PeakRSS float64
}

// div is a ÷ b, or 0 where either is unknown (0).
func div(a, b float64) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return a / b
}

// FloorRatio is each server's CPU per request over the libvips floor's:
// 1 would be a server that costs nothing beside libvips. 0 where a figure
// is unknown or there is no floor.
func (c *Comparison) FloorRatio() (pictor, peer float64) {
	if c.Floor == nil {
		return 0, 0
	}
	return div(c.Pictor.CPUPerRequest, c.Floor.CPUPerRequest), div(c.Peer.CPUPerRequest, c.Floor.CPUPerRequest)
}

// Ratio is Pictor over the peer.
func (c *Comparison) Ratio() SideRatio {
	p, q := &c.Pictor, &c.Peer
	return SideRatio{
		Throughput:      div(p.Throughput, q.Throughput),
		CPUPerRequest:   div(p.CPUPerRequest, q.CPUPerRequest),
		P50:             div(p.P50, q.P50),
		P99:             div(p.P99, q.P99),
		BytesPerRequest: div(p.BytesPerRequest, q.BytesPerRequest),
		PeakRSS:         div(float64(p.PeakRSSBytes), float64(q.PeakRSSBytes)),
	}
}
