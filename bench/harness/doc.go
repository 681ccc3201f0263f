// Package harness is Pictor's load generator and the driver of `make
// bench`: it runs scenarios against Pictor (through Nginx, or direct to the
// sidecar on its Unix socket) and against peers reached through URL
// templates, reads the servers' cost from /proc, and fills the results
// model of package report.
//
// A run flows like this. Main parses the command line into targets,
// scenario specs and process groups, loads the corpus (LoadCorpus) and
// uploads it to every Pictor target through POST /upload. For each spec
// and target it builds a Generator (cold, srcset, hot, mixed, upload; see
// scenario.go), warms what the scenario needs, and hands it to Run, the
// load generator: fasthttp's HostClient, a closed loop of N connections or
// an open loop at a fixed rate whose latency runs from each request's due
// time, bounded by a duration and a request count, after an unmeasured
// warm-up. Latencies go into a log-linear Histogram (1/128 precision), per
// run and per one-second interval; a Sampling reads utime+stime and VmRSS
// of the target's process groups, their descendants included, every 250 ms.
// After the runs, Baseline makes the cold runs' transforms again in this
// process through transform.Processor, and ratios compares results with it
// and with each other. The report package writes the table, the JSON file
// and the HTML report; RewriteDoc puts the Markdown tables in the
// performance document (docs/performance.md), never in README.md.
//
// The peer kinds, distinct and widths (peerpool.go), set Pictor beside
// another server on the same requests in the same order: distinct asks for
// a different original every time (copies of one photo, uploaded to Pictor
// and written under the corpus directory for the peer), widths asks for one
// original at a span of widths, each once. The harness can start imgproxy
// itself as that peer (imgproxy.go); comparisons (compare.go) put both
// sides' figures and their ratio in one table. With --floor, Floor
// (floor.go) then makes each peer scenario's requests again in this
// process with plain libvips calls (shrink-on-load, vips_resize, save; not
// Pictor's pipeline), and the table gains that libvips floor's CPU per
// request and each server's CPU over it.
//
// Cold and srcset requests are variants this invocation has not asked for
// before (variants.go), so no cache tier answers them; the decoded-original
// cache must be off on the server for "cold" to mean a whole pipeline run
// (scripts/bench.sh turns it off).
package harness
