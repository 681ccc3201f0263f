// Command bench load-tests Pictor and its peers: `go run ./bench -h` lists
// the flags; scripts/bench.sh (make bench) runs the standard scenarios
// against the whole stack. The work is in package bench/harness, which the
// pictor binary also offers as `pictor bench`.
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
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
