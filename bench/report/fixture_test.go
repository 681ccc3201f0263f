package report

import (
	"math"
	"time"
)

// The targets of the fixture run: Pictor through Nginx, Pictor direct and
// a peer, as make bench measures them.
var fixtureTargets = []string{"pictor-nginx", "pictor-direct", "nginx-image-filter"}

// fixtureRun is a run shaped like the harness's: cold, srcset and hot
// against three targets, each with a 30-second timeline, a latency CDF and
// sampled server processes, and an upload scenario against one target
// with no timeline, CDF or processes at all, to show that empty data draws
// as such. The figures are made up, smooth and distinct per target, so
// that every line can be seen and told apart; what is under test is how
// they are written and drawn.
func fixtureRun() *Run {
	r := &Run{
		Started: time.Date(2026, 11, 22, 6, 53, 4, 0, time.UTC),
		Command: "go run ./bench --scenarios cold,srcset,hot,upload --seconds 30 " +
			"--target pictor-nginx=http://127.0.0.1:8080 --target pictor-direct=unix:./data/run/pictor.sock " +
			"--peer nginx-image-filter='http://127.0.0.1:8082/resize/{w}/{file}'",
		Machine: Machine{
			CPU: "AMD EPYC 7B13", Cores: 2, MemBytes: 24 << 30,
			Kernel: "6.1.0-28-cloud-amd64", OS: "Debian GNU/Linux 12 (bookworm)", GoVersion: "go1.26.8",
		},
	}
	scenarios := []struct {
		name    string
		mode    string
		conns   int
		rate    float64
		reqs    float64 // req/s of the first target
		latency float64 // p50 ms of the first target
	}{
		{"cold", "closed", 4, 0, 55, 70},
		{"srcset", "open", 16, 200, 200, 22},
		{"hot", "closed", 64, 0, 15500, 3.5},
	}
	for _, sc := range scenarios {
		for k, target := range fixtureTargets {
			// Each target runs at its own level so that lines do not overlap.
			speed := []float64{1, 1.25, 0.45}[k]
			res := Result{
				Scenario: sc.name, Target: target, URL: "http://127.0.0.1:8080/t/",
				Mode: sc.mode, Connections: sc.conns, Rate: sc.rate, Seconds: 30,
			}
			p50 := sc.latency / speed
			var total int64
			for i := 1; i <= 30; i++ {
				wave := 1 + 0.12*math.Sin(float64(i)/3+float64(k))
				n := int64(sc.reqs * speed * wave)
				total += n
				res.Timeline = append(res.Timeline, Sample{
					T: float64(i), Requests: n, Errors: int64(i % 7 / 6),
					P50: p50 / wave, P90: 1.9 * p50 / wave, P99: 3.4 * p50 / wave,
				})
			}
			res.Requests = total
			res.Throughput = float64(total) / 30
			res.Bytes = total * 24_000
			res.BytesPerSec = float64(res.Bytes) / 30
			res.Errors = map[string]int64{"429": int64(3 * k), "timeout": int64(k / 2)}
			// A log-normal latency distribution around p50.
			for i := 1; i < 50; i++ {
				f := float64(i) / 50
				res.CDF = append(res.CDF, CDFPoint{LatencyMs: p50 * math.Exp(0.55*math.Sqrt2*math.Erfinv(2*f-1)), Fraction: f})
			}
			res.CDF = append(res.CDF, CDFPoint{LatencyMs: 6 * p50, Fraction: 1})
			res.Latency = Percentiles{Mean: 1.2 * p50, P50: p50, P90: 1.9 * p50, P99: 3.4 * p50, Max: 6 * p50}
			procs := []string{"pictor"}
			switch target {
			case "pictor-nginx":
				procs = []string{"nginx", "pictor"}
			case "nginx-image-filter":
				procs = []string{"nginx"}
			}
			for j, name := range procs {
				p := Process{
					Name: name, PIDs: []int{1000 + 10*k + j},
					CPUSeconds: 30 * 1.6 / float64(len(procs)), PeakRSSBytes: int64(40+60*k+50*j) * 1_000_000,
				}
				p.CPUPerRequest = 1000 * p.CPUSeconds / float64(total)
				for i := 0; i <= 30; i++ {
					p.RSS = append(p.RSS, RSSSample{
						T: float64(i), Bytes: p.PeakRSSBytes * int64(60+i*4/3) / 100,
					})
				}
				res.Processes = append(res.Processes, p)
			}
			r.Results = append(r.Results, res)
		}
	}
	// An upload against one target, with none of the optional data.
	r.Results = append(r.Results, Result{
		Scenario: "upload", Target: "pictor-direct", URL: "http://127.0.0.1:8081/upload",
		Mode: "closed", Connections: 2, Seconds: 10, Requests: 120, Throughput: 12,
		Bytes: 5_000, BytesPerSec: 500,
		Latency: Percentiles{Mean: 160, P50: 150, P90: 230, P99: 410, Max: 520},
	})
	r.Ratios = []Ratio{
		{Name: "hot req/s through nginx", Value: 15500, Target: 15000, Better: "higher", Met: true,
			Detail: "hot, pictor-nginx: requests ÷ seconds"},
		{Name: "cold CPU ÷ pipeline CPU", Value: 1.21, Target: 1.10, Better: "lower", Met: false,
			Detail: "sidecar CPU per cold request ÷ BenchmarkPipeline CPU per image"},
		{Name: "srcset variant ÷ cold variant CPU", Value: 0.31, Target: 0.4, Better: "lower", Met: true},
		{Name: "nginx share of CPU", Value: 0.042},
	}
	return r
}
