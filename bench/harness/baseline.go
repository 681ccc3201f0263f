package harness

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/options"
)

// The in-process baseline: the transforms a cold run asked the server for,
// made again in this process through the same pipeline code
// (transform.Processor, libvips on one thread per image, as the sidecar
// runs it) with no HTTP, no cache and no queue, and timed in CPU. A cold
// request's server CPU over this is the cost of everything around the
// pipeline: parsing, signing, the store, the tiers, the socket, Nginx.

// Cost is the pipeline's CPU for some images of one original.
type Cost struct {
	Images int
	CPU    time.Duration
}

// PerImage is the mean CPU per image.
func (c Cost) PerImage() time.Duration {
	if c.Images == 0 {
		return 0
	}
	return c.CPU / time.Duration(c.Images)
}

// cpuTime is the CPU time (user + system) this process has used, every
// thread included: libvips works on threads of its own.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Baseline makes works again in this process and returns the CPU per
// image of each original. Works are replayed per original, in the order
// they were asked for, in blocks of one ladder (five widths, so every
// block has the same mix of sizes as the run), workers at a time (the
// sidecar's workers, so both sides run as many transforms at once). Each
// original gets an equal share of budget and at least one block; the first
// transform of each is made once unmeasured, as the server had made
// others before it. libvips must have been started.
func Baseline(ctx context.Context, works []Work, budget time.Duration, workers int) (map[*File]Cost, error) {
	p, err := transform.New(transform.DefaultConfig(), transform.Deps{})
	if err != nil {
		return nil, err
	}
	parser, err := options.NewParser(options.DefaultConfig())
	if err != nil {
		return nil, err
	}
	var order []*File
	byFile := map[*File][]transform.Request{}
	for _, w := range works {
		o, err := parser.Parse(w.Options)
		if err != nil {
			return nil, fmt.Errorf("harness: baseline: %w", err)
		}
		if _, ok := byFile[w.File]; !ok {
			order = append(order, w.File)
		}
		byFile[w.File] = append(byFile[w.File], transform.Request{Options: o, Output: transform.Negotiate(o, w.File.Format, nil, false)})
	}
	costs := map[*File]Cost{}
	if len(order) == 0 {
		return costs, nil
	}
	share := budget / time.Duration(len(order))
	for _, f := range order {
		reqs := byFile[f]
		if _, err := p.Process(ctx, f.Data, reqs[0]); err != nil {
			return nil, fmt.Errorf("harness: baseline %s: %w", f.Name, err)
		}
		var c Cost
		start := time.Now()
		for i := 0; i < len(reqs); i += ladderSteps {
			block := reqs[i:min(i+ladderSteps, len(reqs))]
			cpu0 := cpuTime()
			if err := runBlock(ctx, p, f, block, workers); err != nil {
				return nil, err
			}
			c.CPU += cpuTime() - cpu0
			c.Images += len(block)
			if time.Since(start) >= share || ctx.Err() != nil {
				break
			}
		}
		costs[f] = c
	}
	return costs, ctx.Err()
}

// runBlock makes reqs of f, workers at a time.
func runBlock(ctx context.Context, p *transform.Processor, f *File, reqs []transform.Request, workers int) error {
	next := make(chan transform.Request, len(reqs))
	for _, r := range reqs {
		next <- r
	}
	close(next)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range max(1, workers) {
		wg.Go(func() {
			for r := range next {
				if _, err := p.Process(ctx, f.Data, r); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("harness: baseline %s %s: %w", f.Name, r.Options, err) })
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// weighted is the pipeline's CPU per image for the mix of originals in
// works: each original's CPU per image, weighted by how often works asks
// for it. It also returns how many images the figure rests on.
func weighted(works []Work, costs map[*File]Cost) (perImage time.Duration, images int, ok bool) {
	var sum float64
	n := 0
	counted := map[*File]bool{}
	for _, w := range works {
		c, found := costs[w.File]
		if !found || c.Images == 0 {
			return 0, 0, false
		}
		sum += float64(c.PerImage())
		n++
		if !counted[w.File] {
			counted[w.File] = true
			images += c.Images
		}
	}
	if n == 0 {
		return 0, 0, false
	}
	return time.Duration(sum / float64(n)), images, true
}
