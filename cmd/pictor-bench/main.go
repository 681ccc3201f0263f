// Command pictor-bench load-tests Pictor and its peers: `pictor-bench -h`
// lists the flags; scripts/bench.sh (make bench) builds it and runs the
// standard scenarios against the whole stack. The work is in package
// bench/harness. It is a command of its own so that the pictor server
// binary links none of the harness (charts, HTML report, load generator).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pictorhq/pictor/bench/harness"
)

func main() {
	// Ctrl-C stops the run between requests; a second one kills it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := harness.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pictor-bench:", err)
		os.Exit(1)
	}
}
