package harness

import (
	"math"
	"math/rand/v2"
	"sync"
)

// The cold and srcset scenarios ask for variants that no request of this
// invocation has asked for before, so that no cache tier can answer them.
// Each original has a ladder of five widths, like a srcset's breakpoints,
// and a space of "combos": a width offset k and a quality q. A combo gives
// five fresh variants (ladder[i] - k at quality q). A cold request takes
// the next width of a combo it holds; a srcset request takes a combo of
// its own for all five widths. Both therefore ask for the same mix of
// widths, which is what makes "srcset CPU per variant ÷ cold CPU per
// variant" a fair ratio. Widths never exceed the original's, since the
// peers only ever shrink.

// ladderSteps is the number of widths per original: what a srcset holds.
const ladderSteps = 5

// ladderMax caps the largest width: 1920 px is the widest common srcset
// breakpoint; the ladder is its sixths (384, 768, … 1920 for 3840 px
// photos).
const ladderMax = 2304

// Qualities of cold variants: a span around the default 80, so quality is
// a second axis of fresh variants and the encoders' cost stays typical.
const (
	qualityLo = 60
	qualityN  = 31 // 60..90
)

// space hands out fresh variants of each original. It is safe for
// concurrent use.
type space struct {
	mu    sync.Mutex
	files map[*File]*fileSpace
	seed  uint64
	// wrapped counts originals whose combos have all been used: from then
	// on their "cold" variants repeat, and a cache may answer them.
	wrapped int
}

type fileSpace struct {
	ladder [ladderSteps]int
	offs   int    // width offsets per quality: ladder[0]/4, at least 1
	next   uint64 // combos handed out
	start  uint64 // where this invocation starts in the combo space
	cold   uint64 // the combo cold requests are using
	coldI  int    // the next ladder step of it; ladderSteps: take a new one
}

func newSpace(seed uint64) *space {
	return &space{files: map[*File]*fileSpace{}, seed: seed}
}

// ladderOf is f's five widths: sixths of its width, capped at ladderMax.
func ladderOf(f *File) (l [ladderSteps]int) {
	top := float64(min(f.Width, ladderMax))
	for i := range l {
		l[i] = max(1, int(math.Round(top*float64(i+1)/(ladderSteps+1))))
	}
	return l
}

func (s *space) file(f *File) *fileSpace {
	fs, ok := s.files[f]
	if !ok {
		fs = &fileSpace{ladder: ladderOf(f), coldI: ladderSteps}
		fs.offs = max(1, fs.ladder[0]/4)
		// A random start (fixed by the seed) keeps two invocations against
		// one server from asking for the same variants.
		r := rand.New(rand.NewPCG(s.seed, uint64(len(s.files))))
		fs.start = r.Uint64N(uint64(fs.offs * qualityN))
		s.files[f] = fs
	}
	return fs
}

// combo returns the next unused combo of fs.
func (s *space) combo(fs *fileSpace) (k, q int) {
	n := uint64(fs.offs * qualityN)
	if fs.next == n {
		s.wrapped++
	}
	c := (fs.start + fs.next) % n
	fs.next++
	return int(c % uint64(fs.offs)), qualityLo + int(c/uint64(fs.offs))
}

// cold is the next fresh single variant of f.
func (s *space) cold(f *File) Variant {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.file(f)
	if fs.coldI == ladderSteps {
		k, q := s.combo(fs)
		fs.cold = uint64(k)<<32 | uint64(q)
		fs.coldI = 0
	}
	k, q := int(fs.cold>>32), int(fs.cold&0xffffffff)
	w := max(1, fs.ladder[fs.coldI]-k)
	fs.coldI++
	return Variant{File: f, Width: w, Quality: q}
}

// srcset is a fresh combo of f: its five widths, increasing, and quality.
func (s *space) srcset(f *File) (widths [ladderSteps]int, q int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.file(f)
	k, q := s.combo(fs)
	for i, w := range fs.ladder {
		widths[i] = max(1, w-k)
	}
	return widths, q
}

// Wrapped is how many originals ran out of fresh variants.
func (s *space) Wrapped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wrapped
}

// hotSteps is the number of hot variants per original: ten widths, tenths
// of the original's width capped at hotMax, at the default quality (so
// never one of the cold or srcset variants, which always carry q_), in the
// original's format.
const (
	hotSteps = 10
	// hotMax: thumbnails, cards and inline images (64–640 px) are what
	// pages show over and over; a full-width hero image is one per page.
	hotMax = 640
)

// hotSet is the fixed set of variants the hot scenario draws from, in a
// shuffled order (fixed by seed) so that the most popular ranks of the
// Zipf draw fall on different originals.
func hotSet(files []*File, seed uint64) []Variant {
	var vs []Variant
	for _, f := range files {
		top := min(f.Width, hotMax)
		for j := 1; j <= hotSteps; j++ {
			vs = append(vs, Variant{File: f, Width: max(1, top*j/hotSteps)})
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	r.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
	return vs
}
