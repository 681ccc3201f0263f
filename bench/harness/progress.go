package harness

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress draws a one-line progress bar for the run in progress, redrawn
// in place (carriage return) a few times a second. A nil *Progress draws
// nothing, which is what tests and non-terminal output get.
type Progress struct {
	w     io.Writer
	label string

	mu   sync.Mutex
	stop chan struct{}
	wg   sync.WaitGroup
}

// NewProgress returns a progress bar on w.
func NewProgress(w io.Writer) *Progress { return &Progress{w: w} }

// IsTerminal reports whether f is a character device, where a redrawn
// line reads well; a file or a pipe would collect every redraw.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// redraw is how often the bar is drawn: smooth enough to read, rare
// enough to cost nothing.
const redraw = 200 * time.Millisecond

// barWidth is the bar's length in characters.
const barWidth = 24

// Label names what the next runs measure ("cold → pictor-nginx").
func (p *Progress) Label(s string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.label = s
	p.mu.Unlock()
}

// phase starts drawing one phase of a run, which ends at d or at
// maxRequests (0: no such bound).
func (p *Progress) phase(name string, d time.Duration, maxRequests int64, rec *recorder) {
	if p == nil {
		return
	}
	p.done()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stop = make(chan struct{})
	stop, label := p.stop, p.label
	p.wg.Go(func() {
		t := time.NewTicker(redraw)
		defer t.Stop()
		for {
			p.draw(label, name, d, maxRequests, rec, false)
			select {
			case <-stop:
				p.draw(label, name, d, maxRequests, rec, true)
				return
			case <-t.C:
			}
		}
	})
}

// done stops drawing and ends the line.
func (p *Progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	stop := p.stop
	p.stop = nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		p.wg.Wait()
	}
}

func (p *Progress) draw(label, name string, d time.Duration, maxRequests int64, rec *recorder, last bool) {
	el := time.Since(rec.start)
	n := rec.requests.Load()
	frac := el.Seconds() / d.Seconds()
	if maxRequests > 0 {
		frac = max(frac, float64(n)/float64(maxRequests))
	}
	frac = min(max(frac, 0), 1)
	fill := int(frac * barWidth)
	bar := strings.Repeat("#", fill) + strings.Repeat(".", barWidth-fill)
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	end := ""
	if last {
		end = "\n"
	}
	// \r and "erase to end of line" redraw in place on any terminal.
	fmt.Fprintf(p.w, "\r\x1b[K%-32s %-7s [%s] %5.1f/%.0fs %8d req %9.1f req/s %6d err%s",
		label, name, bar, el.Seconds(), d.Seconds(), n, rate, rec.errors.Load(), end)
}
