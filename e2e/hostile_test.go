package e2e

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pictorhq/pictor/internal/heictest"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

// The sweep's limits.
const (
	// sweepDeadline is the PICTOR_TIMEOUT the sweep runs under (its
	// default): every answer must come back within it.
	sweepDeadline = 10 * time.Second
	// floodLatency and floodRSS bound a pixel flood's refusal. Decoding
	// 60000×60000 pixels would take seconds and 14 GB; refusing from the
	// header takes a file read of a few hundred bytes, so the two are
	// orders of magnitude apart on any machine.
	floodLatency = 100 * time.Millisecond
	floodRSS     = 10 << 20
	// framesLatency bounds the refusal of an animation over the frame
	// limit (issue 17): libvips counts a GIF's frames by walking its
	// blocks, without decoding any, in about 3 ms for 20,000 frames.
	framesLatency = 50 * time.Millisecond
	// floodRounds uploads each flood this many times, so that a per-request
	// leak adds up to something RSS can see.
	floodRounds = 5
	// sweepPeak bounds the process's peak RSS over the whole sweep, one
	// file at a time: every transform streams or holds only what its
	// memory estimate admitted.
	sweepPeak = 300 << 20
)

// Markers planted in the hostile payloads; none may reach a variant.
const (
	exifMake  = "PictorHostileCam"
	gpsMarker = "PICTOR-GPS-MARKER"
	script    = "<script>alert(document.domain)</script>"
)

// sweepVariants are made of every accepted file: a resize into each lossy
// format and a full-size lossless re-encode, which decodes every pixel
// (a resize may decode a JPEG or WebP at a fraction of its size).
// bigVariants replace them for sources over a megapixel, whose full-size
// PNG would cost a quarter second each and add nothing the small ones
// do not show.
var (
	sweepVariants = []string{"w_64,f_jpeg", "w_64,f_webp", "f_png"}
	bigVariants   = []string{"w_64,f_jpeg", "w_64,f_webp", "w_512,f_png"}
)

// payloadVariants are made of the files that carry a payload: every output
// format, and the source's own format (no f_), where an encoder that copied
// metadata through would most likely do it.
var payloadVariants = []string{"w_64,f_jpeg", "w_64,f_webp", "f_png", "w_48,f_avif", "w_32,f_gif", "w_64"}

// animVariants are made of animations: every frame resized, cropped and
// re-encoded in both animated formats, one frame picked, and the first
// frame as a still.
var animVariants = []string{"w_64", "w_64,f_webp", "w_32,h_32,c_fill,f_gif", "w_48,pg_2,f_png", "w_64,f_jpeg"}

// hostileFile is one upload of the sweep.
type hostileFile struct {
	name  string
	group string
	body  []byte
	// expect is what the upload must get: 0 any 2xx or 4xx, 2 a 2xx, 4 a
	// 4xx, or an exact status.
	expect int
	// payload marks files whose metadata or trailing bytes carry markers:
	// they get every output format, and must show the markers themselves
	// (so that a scan of their variants that finds nothing means something).
	payload bool
	// frames, for an animation, is how many frames it has: it gets
	// animVariants, whose animated outputs must keep them all.
	frames int
}

// sweep runs hostile files through one pictor process and keeps the score.
type sweep struct {
	t  *testing.T
	in *instance

	files, accepted, variants int
	refused                   map[int]int // upload status → count
	variantRefused            map[int]int // transform status → count
	bad                       int         // 5xx or anything not 2xx/4xx
	slowest                   time.Duration
	slowestWhat               string

	lapStart time.Time
	laps     []string // how long each group took, for the log
}

// lap notes how long the group that just ended took.
func (s *sweep) lap(group string) {
	now := time.Now()
	s.laps = append(s.laps, fmt.Sprintf("%s %v", group, now.Sub(s.lapStart).Round(10*time.Millisecond)))
	s.lapStart = now
}

// A hostile-input sweep through the built binary and real HTTP: every
// corpus file and a set of generated attacks (pixel floods, a 10,000-frame
// GIF, other types renamed .jpg, a JPEG+HTML polyglot, EXIF/XMP/text
// payloads with a script and GPS coordinates, every valid image truncated
// at each sixteenth, empty and one-byte files) is uploaded, and every
// accepted one is transformed. No answer may be 5xx or late, the process
// must survive, floods are refused from the header, and no variant carries
// metadata.
func TestHostileSweep(t *testing.T) {
	in := start(t, "PICTOR_TIMEOUT="+sweepDeadline.String())
	began := time.Now()
	s := &sweep{t: t, in: in, refused: map[int]int{}, variantRefused: map[int]int{}, lapStart: began}
	defer func() { s.summary(time.Since(began)) }()

	// Warm up first, so that libvips' and the runtime's one-time costs do
	// not count against the floods' time and memory.
	sample, err := os.ReadFile("../testdata/sample.jpg")
	if err != nil {
		t.Fatal(err)
	}
	s.run(hostileFile{name: "sample.jpg", group: "valid", body: sample, expect: 2})
	s.lap("warm-up")

	s.floods()
	s.lap("floods")

	gen := generated(t)
	for _, f := range gen {
		if f.payload {
			checkPayloadVisible(t, f)
		}
	}
	for _, f := range gen {
		s.run(f)
	}
	s.alive("the generated files")
	s.lap("generated")

	for _, f := range corpusFiles(t) {
		s.run(f)
	}
	s.alive("the corpus")
	s.lap("corpus")

	for _, f := range fuzzSeeds(t) {
		s.run(f)
	}
	s.alive("the fuzz seeds")
	s.lap("fuzz seeds")

	// Every valid image the sweep made, sample.jpg, and a few corpus files
	// (interlaced 16-bit with alpha, palette, palette with transparency, a
	// rotated photo with EXIF), cut at each sixteenth.
	valid := []hostileFile{{name: "sample.jpg", body: sample}}
	for _, f := range gen {
		if f.group == "valid" || f.group == "frames" || f.payload {
			valid = append(valid, f)
		}
	}
	for _, name := range []string{"pngsuite/basi6a16.png", "pngsuite/basn3p08.png", "pngsuite/tbwn3p08.png", "exif-orientation/Landscape_6.jpg"} {
		b, err := os.ReadFile(filepath.Join(corpus, name))
		if err != nil {
			t.Fatal(err)
		}
		valid = append(valid, hostileFile{name: name, body: b})
	}
	for _, v := range valid {
		for k := 1; k < 16; k++ {
			s.run(hostileFile{
				name:  fmt.Sprintf("%s-truncated-%02d-of-16", strings.ReplaceAll(v.name, "/", "-"), k),
				group: "truncated",
				body:  v.body[:len(v.body)*k/16],
			})
		}
	}
	s.alive("the truncated files")
	s.lap("truncated")

	// The peak since the floods reset it (or since start, where the
	// kernel cannot reset it: then it includes the start-up too).
	_, hwm := procMemory(t, in.cmd.Process.Pid)
	t.Logf("hostile sweep: peak RSS %d MiB", hwm>>20)
	if hwm >= sweepPeak {
		t.Errorf("peak RSS over the sweep %d MiB, want under %d MiB", hwm>>20, sweepPeak>>20)
	}

	// Stopping shows the process never exited on its own: it drains and
	// exits 0 on the signal, and its log holds no panic.
	in.stop()
	if code := in.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("pictor exited %d after the sweep, want 0 on interrupt", code)
	}
	if log := in.log.String(); strings.Contains(log, "panic") || strings.Contains(log, "SIGSEGV") {
		t.Errorf("pictor's log shows a panic:\n%s", tail(log, 4000))
	}
}

// run uploads f and, when it is accepted, makes its variants, checking
// every answer.
func (s *sweep) run(f hostileFile) {
	s.t.Helper()
	s.files++
	began := time.Now()
	r := s.timed("upload "+f.name, func() result { return s.in.upload(f.name, f.body) })
	if f.group == "frames" || f.group == "payload" {
		s.t.Logf("%s (%d bytes): upload %d in %v", f.name, len(f.body), r.status, time.Since(began).Round(time.Millisecond))
	}
	switch {
	case f.expect == 2 && r.status/100 != 2,
		f.expect == 4 && r.status/100 != 4,
		f.expect > 4 && r.status != f.expect:
		s.t.Errorf("upload %s (%s): %d %s, want %s", f.name, f.group, r.status, r.body, expectText(f.expect))
	}
	if r.status/100 != 2 {
		s.refused[r.status]++
		return
	}
	s.accepted++
	var u struct {
		Key           string
		Width, Height int
	}
	if err := json.Unmarshal(r.body, &u); err != nil {
		s.t.Fatalf("upload %s: %v in %s", f.name, err, r.body)
	}
	vs := sweepVariants
	if u.Width*u.Height > 1<<20 {
		vs = bigVariants
	}
	if f.payload {
		vs = payloadVariants
		s.checkOriginal(f, u.Key)
	}
	if f.frames > 1 {
		vs = animVariants
	}
	for _, opts := range vs {
		what := f.name + " " + opts
		v := s.timed(what, func() result { return s.in.get(s.in.signed(opts, u.Key)) })
		if v.status != 200 {
			s.variantRefused[v.status]++
			if f.payload {
				s.t.Errorf("%s: %d %s, want 200 (the file is a valid image)", what, v.status, v.body)
			}
			continue
		}
		s.variants++
		if leaks := metadataIn(v.body); len(leaks) > 0 {
			s.t.Errorf("%s: the variant carries %s", what, strings.Join(leaks, ", "))
		}
		h, err := vips.Probe(v.body)
		switch {
		case err != nil:
			s.t.Errorf("%s: the variant does not probe: %v", what, err)
		case h.EXIF != nil:
			s.t.Errorf("%s: libvips finds EXIF in the variant: %v", what, h.EXIF)
		case h.Format.ContentType() != v.header.Get("Content-Type"):
			s.t.Errorf("%s: %s bytes sent as %s", what, h.Format, v.header.Get("Content-Type"))
		case f.frames > 1 && (h.Format == format.GIF || h.Format == format.WebP) && !strings.Contains(opts, "pg_") && h.Pages != f.frames:
			s.t.Errorf("%s: %d frames, want the source's %d", what, h.Pages, f.frames)
		}
	}
}

// checkOriginal shows that the server took the payload file as it is: its
// /info reads the planted EXIF, and /o/ sends the bytes back untouched but
// typed as an image that browsers must not sniff into HTML.
func (s *sweep) checkOriginal(f hostileFile, key string) {
	s.t.Helper()
	req := s.in.infoRequest(key)
	info := s.timed("info "+f.name, func() result { return s.in.do(req) })
	var hdr struct{ EXIF map[string]string }
	if err := json.Unmarshal(info.body, &hdr); err != nil || info.status != 200 {
		s.t.Errorf("info %s: %d %s", f.name, info.status, info.body)
	} else if strings.Contains(f.name, "exif") && hdr.EXIF["make"] != exifMake {
		s.t.Errorf("info %s: EXIF %v, want make %q: the planted EXIF is not what libvips reads", f.name, hdr.EXIF, exifMake)
	}
	o := s.timed("original "+f.name, func() result { return s.in.get("/o/" + key) })
	sniffed, _ := format.Sniff(f.body)
	if o.status != 200 || !bytes.Equal(o.body, f.body) ||
		o.header.Get("Content-Type") != sniffed.ContentType() || o.header.Get("X-Content-Type-Options") != "nosniff" {
		s.t.Errorf("original %s: %d, %d bytes, Content-Type %q, X-Content-Type-Options %q; want the bytes as %s with nosniff",
			f.name, o.status, len(o.body), o.header.Get("Content-Type"), o.header.Get("X-Content-Type-Options"), sniffed.ContentType())
	}
}

func (in *instance) infoRequest(key string) *http.Request {
	req, _ := http.NewRequest("GET", in.base+"/info/"+key, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

func expectText(e int) string {
	switch e {
	case 2:
		return "2xx"
	case 4:
		return "4xx"
	}
	return strconv.Itoa(e)
}

// timed makes one request and checks what every answer must be: 2xx or
// 4xx, within the deadline.
func (s *sweep) timed(what string, do func() result) result {
	s.t.Helper()
	began := time.Now()
	r := do()
	d := time.Since(began)
	if d > s.slowest {
		s.slowest, s.slowestWhat = d, what
	}
	if d > sweepDeadline {
		s.t.Errorf("%s: answered after %v, past the %v deadline", what, d, sweepDeadline)
	}
	if c := r.status / 100; c != 2 && c != 4 {
		s.bad++
		s.t.Errorf("%s: %d %s, want 2xx or 4xx", what, r.status, r.body)
	}
	return r
}

// alive checks the process still answers.
func (s *sweep) alive(after string) {
	s.t.Helper()
	resp, err := s.in.client.Get(s.in.admin + "/healthz")
	if err != nil {
		s.t.Fatalf("pictor stopped answering after %s: %v", after, err)
	}
	resp.Body.Close()
}

func (s *sweep) summary(took time.Duration) {
	crashes := 0
	if exited(s.in) {
		crashes = 1
	}
	line := fmt.Sprintf("hostile sweep: %d files, %d accepted, %d refused (%s), %d variants made, %d refused (%s), %d 5xx, %d crashes, slowest %v (%s), %v in all",
		s.files, s.accepted, s.files-s.accepted, statusCounts(s.refused), s.variants, sum(s.variantRefused), statusCounts(s.variantRefused),
		s.bad, crashes, s.slowest.Round(time.Millisecond), s.slowestWhat, took.Round(100*time.Millisecond))
	s.t.Log(line)
	s.t.Logf("time by group: %s", strings.Join(s.laps, ", "))
	fmt.Println(line)
}

// exited reports whether the pictor process has ended, waited for or not.
func exited(in *instance) bool {
	if in.cmd.ProcessState != nil {
		return !in.cmd.ProcessState.Exited() || in.cmd.ProcessState.ExitCode() != 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", in.cmd.Process.Pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name; Z is a zombie.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}

func statusCounts(m map[int]int) string {
	if len(m) == 0 {
		return "none"
	}
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d: %d", c, m[c])
	}
	return strings.Join(parts, ", ")
}

func sum(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// floods uploads each pixel flood floodRounds times and checks the answer
// (422 naming the pixel limit), its latency and the server's memory: RSS
// and peak RSS (VmHWM, reset first through clear_refs) may grow by less
// than floodRSS across all of them.
func (s *sweep) floods() {
	t := s.t
	pid := s.in.cmd.Process.Pid
	floods := []hostileFile{
		{name: "flood-60000x60000.png", body: floodPNG(t)},
		{name: "flood-60000x60000.jpg", body: floodJPEG(t)},
		{name: "flood-60000x60000.gif", body: floodGIF(t)},
		{name: "flood-vp8l-16383x16383.webp", body: webpFile(vp8lChunk(16383, 16383))},
		{name: "flood-vp8x-16383x16383.webp", body: webpFile(vp8xChunk(16383, 16383, 0), vp8lChunk(16383, 16383))},
		{name: "flood-vp8x-max-canvas.webp", body: webpFile(vp8xChunk(1<<24, 1<<24, 0), vp8lChunk(16383, 16383))},
		{name: "frames-20000.gif", body: genGIF(t, 20000, 1)},
		{name: "frames-1000.webp", body: animatedWebP(t, genGIF(t, 1000, 1))},
		{name: "flood-10000x10000.heic", body: floodHEIC(t, 10000, 10000)},
	}
	peakReset := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	rss0, hwm0 := procMemory(t, pid)
	var slowest time.Duration
	took := make([][]time.Duration, len(floods))
	for range floodRounds {
		for i, f := range floods {
			f.group = "flood"
			s.files++
			// The multipart body is built before the clock starts: the
			// race-instrumented client copying half a megabyte is not the
			// server's time.
			req := s.in.uploadRequest(f.name, f.body)
			began := time.Now()
			r := s.timed("upload "+f.name, func() result { return s.in.do(req) })
			d := time.Since(began)
			slowest = max(slowest, d)
			took[i] = append(took[i], d)
			s.refused[r.status]++
			// The maximal WebP canvas (2^24 square) is past what libwebp
			// itself accepts, so it is refused as undecodable; the others
			// have valid headers and must meet the pixel limit.
			wantMsg := "transform: source over the pixel limit"
			switch {
			case strings.Contains(f.name, "max-canvas"):
				wantMsg = ""
			case strings.HasPrefix(f.name, "frames-"):
				wantMsg = "transform: animation over the frame limit"
			}
			if r.status != 422 || !strings.Contains(string(r.body), wantMsg) {
				t.Errorf("flood %s: %d %s, want 422 %s", f.name, r.status, r.body, wantMsg)
			}
		}
	}
	// The median of the rounds: a decode would make every round slow, while
	// a busy CI machine may stall one or two.
	for i, f := range floods {
		slices.Sort(took[i])
		limit := floodLatency
		if strings.HasPrefix(f.name, "frames-") {
			limit = framesLatency
		}
		t.Logf("flood %s (%d bytes): refused in %v (median of %d)", f.name, len(f.body), took[i][len(took[i])/2], floodRounds)
		if med := took[i][len(took[i])/2]; med > limit {
			t.Errorf("flood %s: refused after %v (median of %d), want under %v: from the header alone", f.name, med, floodRounds, limit)
		}
	}
	rss1, hwm1 := procMemory(t, pid)
	t.Logf("pixel floods: %d uploads, slowest %v; RSS %d → %d KiB, peak %d → %d KiB (peak reset: %v)",
		floodRounds*len(floods), slowest, rss0>>10, rss1>>10, hwm0>>10, hwm1>>10, peakReset)
	if rss1-rss0 >= floodRSS {
		t.Errorf("pixel floods grew RSS by %d KiB, want under %d KiB", (rss1-rss0)>>10, floodRSS>>10)
	}
	if peakReset && hwm1-hwm0 >= floodRSS {
		t.Errorf("pixel floods raised peak RSS by %d KiB, want under %d KiB", (hwm1-hwm0)>>10, floodRSS>>10)
	}
	s.alive("the pixel floods")
}

// procMemory returns a process's resident set and its peak, in bytes.
func procMemory(t *testing.T, pid int) (rss, hwm int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("/proc/%d/status: %q: %v", pid, line, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 || hwm == 0 {
		t.Fatalf("/proc/%d/status has no VmRSS or VmHWM", pid)
	}
	return rss, hwm
}

// fuzzSeedDirs hold the committed seeds of the fuzzers that read image
// bytes: every []byte value in them is uploaded as a file of its own.
var fuzzSeedDirs = []string{
	"../server/testdata/fuzz/FuzzUpload",
	"../transform/testdata/fuzz/FuzzCheckHeader",
	"../transform/vips/testdata/fuzz/FuzzProbe",
	"../transform/format/testdata/fuzz/FuzzSniff",
}

// fuzzSeeds reads the []byte values of the image fuzzers' seed files
// ("go test fuzz v1" then one Go literal a line).
func fuzzSeeds(t *testing.T) []hostileFile {
	t.Helper()
	var files []hostileFile
	for _, dir := range fuzzSeedDirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for line := range strings.SplitSeq(string(b), "\n") {
				lit, ok := strings.CutPrefix(line, "[]byte(")
				if !ok {
					continue
				}
				body, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
				if err != nil {
					t.Fatalf("%s/%s: %v", dir, e.Name(), err)
				}
				files = append(files, hostileFile{name: filepath.Base(dir) + "-" + e.Name(), group: "fuzz seed", body: []byte(body)})
			}
		}
	}
	if len(files) == 0 {
		t.Fatal("no fuzz seeds found")
	}
	return files
}

// corpusFiles is every file under testdata/corpus, licences included:
// they are text named .png's neighbours and must be refused like any.
func corpusFiles(t *testing.T) []hostileFile {
	t.Helper()
	var files []hostileFile
	err := filepath.WalkDir(corpus, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(corpus, path)
		f := hostileFile{name: rel, group: "corpus", body: b}
		if filepath.Ext(path) != ".png" && filepath.Ext(path) != ".jpg" {
			f.expect = 415
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", corpus, err)
	}
	if len(files) < 190 {
		t.Fatalf("found %d files in %s, want the whole corpus", len(files), corpus)
	}
	return files
}

// generated builds the sweep's own hostile files.
func generated(t *testing.T) []hostileFile {
	t.Helper()
	photo := genImage(96, 64, false)
	pngBytes := encodePNG(t, photo)
	jpegBytes := encodeJPEG(t, photo)
	webpBytes := vipsConvert(t, pngBytes, format.WebP)
	tiff := exifTIFF()
	files := []hostileFile{
		{name: "generated.png", group: "valid", body: encodePNG(t, genImage(96, 64, true)), expect: 2},
		{name: "generated.jpg", group: "valid", body: jpegBytes, expect: 2},
		{name: "generated.webp", group: "valid", body: webpBytes, expect: 2},
		{name: "generated.avif", group: "valid", body: vipsConvert(t, pngBytes, format.AVIF), expect: 2},
		{name: "generated.heic", group: "valid", body: heictest.EncodeBytes(t, pngBytes, 50), expect: 2},
		{name: "rotated.heic", group: "valid", body: rotatedHEIC(t, pngBytes), expect: 2},
		{name: "animated.gif", group: "valid", body: genGIF(t, 3, 24), expect: 2, frames: 3},
		{name: "animated.webp", group: "valid", body: animatedWebP(t, genGIF(t, 4, 24)), expect: 2, frames: 4},
		{name: "frames-200.gif", group: "frames", body: genGIF(t, 200, 8), expect: 2, frames: 200},
		{name: "frames-201.gif", group: "frames", body: genGIF(t, 201, 1), expect: 422},
		{name: "frames-10000.gif", group: "frames", body: genGIF(t, 10000, 1), expect: 422},
		{name: "frames-300.webp", group: "frames", body: animatedWebP(t, genGIF(t, 300, 1)), expect: 422},

		{name: "exif-gps-script.jpg", group: "payload", payload: true, expect: 2,
			body: jpegWithSegments(jpegBytes, app1(append([]byte("Exif\x00\x00"), tiff...)), app1(xmpPacket()))},
		{name: "exif-gps-script.png", group: "payload", payload: true, expect: 2,
			body: pngWithChunks(pngBytes, pngChunk("eXIf", tiff), pngChunk("tEXt", []byte("Comment\x00"+script)),
				pngChunk("iTXt", append([]byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"), xmpBody()...)))},
		// heif-enc copies the JPEG's EXIF and XMP into the HEIC's metadata
		// items.
		{name: "exif-gps-script.heic", group: "payload", payload: true, expect: 2,
			body: heictest.EncodeBytes(t, jpegWithSegments(jpegBytes, app1(append([]byte("Exif\x00\x00"), tiff...)), app1(xmpPacket())), 50)},
		{name: "exif-gps-script.webp", group: "payload", payload: true, expect: 2,
			body: webpWithMetadata(t, webpBytes, 96, 64, tiff, xmpBody())},
		{name: "comment-script.gif", group: "payload", payload: true, expect: 2,
			body: gifWithComment(genGIF(t, 2, 16), script)},
		{name: "polyglot-html.jpg", group: "payload", payload: true, expect: 2,
			body: append(jpegWithSegments(jpegBytes, comSegment("<html><body>"+script+"</body></html>")),
				"<!DOCTYPE html><html><body>"+script+"</body></html>"...)},

		{name: "svg.jpg", group: "renamed", expect: 415, body: []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"><script>alert(1)</script><rect width="10" height="10"/></svg>`)},
		{name: "svg-bare.jpg", group: "renamed", expect: 415, body: []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		{name: "pdf.jpg", group: "renamed", expect: 415, body: []byte("%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")},
		{name: "psd.jpg", group: "renamed", expect: 415, body: genPSD()},
		{name: "bmp.jpg", group: "renamed", expect: 415, body: genBMP()},
		{name: "tiff-le.jpg", group: "renamed", expect: 415, body: genTIFF(binary.LittleEndian)},
		{name: "tiff-be.jpg", group: "renamed", expect: 415, body: genTIFF(binary.BigEndian)},
		{name: "html.jpg", group: "renamed", expect: 415, body: []byte("<!DOCTYPE html><html><body>" + script + "</body></html>")},
		{name: "jp2.jpg", group: "renamed", expect: 415, body: append([]byte("\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 "), make([]byte, 64)...)},
		// A HEIC is allowed, but this one is nothing past its ftyp box.
		{name: "heic.jpg", group: "renamed", expect: 422, body: append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...)},
		{name: "jxl.jpg", group: "renamed", expect: 415, body: append([]byte{0xFF, 0x0A}, make([]byte, 64)...)},
		{name: "ico.jpg", group: "renamed", expect: 415, body: append([]byte{0, 0, 1, 0, 1, 0}, make([]byte, 64)...)},

		{name: "empty.jpg", group: "tiny", expect: 4},
		{name: "one-byte-ff.jpg", group: "tiny", expect: 4, body: []byte{0xFF}},
		{name: "one-byte-89.png", group: "tiny", expect: 4, body: []byte{0x89}},
		{name: "one-byte-G.gif", group: "tiny", expect: 4, body: []byte("G")},
		{name: "soi-only.jpg", group: "tiny", expect: 4, body: []byte{0xFF, 0xD8, 0xFF}},
	}
	return files
}

// checkPayloadVisible shows that the payload scan can fail: the payload
// file itself must show its markers to metadataIn, and a JPEG's EXIF must
// be what libvips reads.
func checkPayloadVisible(t *testing.T, f hostileFile) {
	t.Helper()
	if leaks := metadataIn(f.body); len(leaks) == 0 {
		t.Fatalf("%s: the metadata scan finds nothing in the payload itself", f.name)
	}
	if strings.HasSuffix(f.name, ".jpg") && strings.Contains(f.name, "exif") {
		h, err := vips.Probe(f.body)
		if err != nil || h.EXIF["make"] != exifMake {
			t.Fatalf("%s: libvips reads EXIF %v (%v), want make %q", f.name, h.EXIF, err, exifMake)
		}
	}
}

// metadataIn lists the metadata and payload markers found in an encoded
// image: EXIF, XMP, comment and text blocks found by walking the format's
// structure, and the planted markers found anywhere in the bytes.
func metadataIn(b []byte) []string {
	var found []string
	lower := bytes.ToLower(b)
	for _, m := range []string{"Exif\x00\x00", exifMake, gpsMarker, "GPSLatitude", "xmpmeta", "http://ns.adobe.com/xap/1.0/"} {
		if bytes.Contains(b, []byte(m)) {
			found = append(found, strconv.Quote(m))
		}
	}
	for _, m := range []string{"<script", "<html", "<!doctype"} {
		if bytes.Contains(lower, []byte(m)) {
			found = append(found, strconv.Quote(m))
		}
	}
	f, _ := format.Sniff(b)
	switch f {
	case format.JPEG:
		found = append(found, jpegMetadata(b)...)
	case format.PNG:
		found = append(found, pngMetadata(b)...)
	case format.WebP:
		found = append(found, webpMetadata(b)...)
	case format.GIF:
		found = append(found, gifMetadata(b)...)
	case format.AVIF:
		found = append(found, avifMetadata(b)...)
	}
	return found
}

// jpegMetadata walks the segments before the scan: APP1 holds EXIF and
// XMP, APP13 IPTC, COM comments.
func jpegMetadata(b []byte) []string {
	var found []string
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			break
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0xDA || m == 0xD9 {
			break
		}
		if m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			i += 2
			continue
		}
		switch m {
		case 0xE1:
			found = append(found, "a JPEG APP1 segment (EXIF or XMP)")
		case 0xED:
			found = append(found, "a JPEG APP13 segment (IPTC)")
		case 0xFE:
			found = append(found, "a JPEG COM segment")
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	return found
}

// pngMetadata walks the chunks: eXIf is EXIF, the text chunks hold
// comments and XMP.
func pngMetadata(b []byte) []string {
	var found []string
	for i := 8; i+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		switch typ := string(b[i+4 : i+8]); typ {
		case "eXIf", "tEXt", "zTXt", "iTXt":
			found = append(found, "a PNG "+typ+" chunk")
		}
		i += 12 + n
	}
	return found
}

// webpMetadata walks the RIFF chunks.
func webpMetadata(b []byte) []string {
	var found []string
	for i := 12; i+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		switch typ := string(b[i : i+4]); typ {
		case "EXIF", "XMP ":
			found = append(found, "a WebP "+typ+" chunk")
		}
		i += 8 + n + n&1
	}
	return found
}

// gifMetadata walks the blocks: comment extensions, and XMP in an
// application extension.
func gifMetadata(b []byte) []string {
	var found []string
	if len(b) < 13 {
		return nil
	}
	i := 13
	if b[10]&0x80 != 0 {
		i += 3 << (b[10]&7 + 1)
	}
	subBlocks := func(i int) int {
		for i < len(b) && b[i] != 0 {
			i += 1 + int(b[i])
		}
		return i + 1
	}
	for i < len(b) {
		switch b[i] {
		case 0x21:
			if i+2 >= len(b) {
				return found
			}
			switch label := b[i+1]; {
			case label == 0xFE:
				found = append(found, "a GIF comment extension")
			case label == 0xFF && i+14 <= len(b) && string(b[i+3:i+14]) == "XMP DataXMP":
				found = append(found, "a GIF XMP application extension")
			}
			i = subBlocks(i + 2)
		case 0x2C:
			if i+10 > len(b) {
				return found
			}
			flags := b[i+9]
			i += 10
			if flags&0x80 != 0 {
				i += 3 << (flags&7 + 1)
			}
			i = subBlocks(i + 1) // after the LZW minimum code size
		default: // 0x3B, the trailer, or damage
			return found
		}
	}
	return found
}

// avifMetadata looks inside the top-level meta box, which lists the items:
// EXIF is an item of type "Exif", XMP one of MIME type application/rdf+xml.
func avifMetadata(b []byte) []string {
	var found []string
	for i := 0; i+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		if n < 8 || i+n > len(b) {
			break
		}
		if string(b[i+4:i+8]) == "meta" {
			box := b[i:min(i+n, len(b))]
			if bytes.Contains(box, []byte("Exif")) {
				found = append(found, "an AVIF Exif item")
			}
			if bytes.Contains(box, []byte("application/rdf+xml")) {
				found = append(found, "an AVIF XMP item")
			}
		}
		i += n
	}
	return found
}

// --- generated images ---

// genImage is a gradient with some texture, so that encoders have real
// work; alpha adds a translucent band.
func genImage(w, h int, alpha bool) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			a := uint8(255)
			if alpha && y > h/2 {
				a = uint8(64 + x)
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x*y)%251 ^ x<<3), a})
		}
	}
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// vipsConvert encodes with libvips the formats Go cannot write.
func vipsConvert(t *testing.T, src []byte, f format.Format) []byte {
	t.Helper()
	im, err := vips.Load(src, vips.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	b, err := im.Save(vips.SaveOptions{Format: f})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// animatedWebP converts an animated GIF to an animated WebP through
// libvips, every frame kept.
func animatedWebP(t *testing.T, gif []byte) []byte {
	t.Helper()
	im, err := vips.Load(gif, vips.LoadOptions{Pages: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	a := im.Animation()
	b, err := im.Save(vips.SaveOptions{Format: format.WebP, Animation: &a})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// genGIF is an animation of frames frames of size×size pixels.
func genGIF(t *testing.T, frames, size int) []byte {
	t.Helper()
	pal := color.Palette{color.Black, color.White, color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}}
	g := &gif.GIF{}
	for i := range frames {
		img := image.NewPaletted(image.Rect(0, 0, size, size), pal)
		for p := range img.Pix {
			img.Pix[p] = uint8((i + p) % len(pal))
		}
		g.Image = append(g.Image, img)
		g.Delay = append(g.Delay, 0)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// floodPNG has a valid IHDR claiming 60000×60000 RGBA and an IDAT holding
// 64 bytes of a row that would need 240,001.
func floodPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 60000)
	binary.BigEndian.PutUint32(ihdr[4:], 60000)
	ihdr[8], ihdr[9] = 8, 6 // 8 bits, RGBA
	b.Write(pngChunk("IHDR", ihdr))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 64))
	zw.Close()
	b.Write(pngChunk("IDAT", z.Bytes()))
	b.Write(pngChunk("IEND", nil))
	return b.Bytes()
}

// floodJPEG is a 16×16 JPEG whose frame header says 60000×60000.
func floodJPEG(t *testing.T) []byte {
	t.Helper()
	b := encodeJPEG(t, genImage(16, 16, false))
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 in Go's JPEG")
	}
	binary.BigEndian.PutUint16(b[i+5:], 60000) // height
	binary.BigEndian.PutUint16(b[i+7:], 60000) // width
	return b
}

// floodGIF is a 1×1 GIF whose screen and frame both say 60000×60000.
func floodGIF(t *testing.T) []byte {
	t.Helper()
	b := genGIF(t, 1, 1)
	binary.LittleEndian.PutUint16(b[6:], 60000)
	binary.LittleEndian.PutUint16(b[8:], 60000)
	i := 13
	if b[10]&0x80 != 0 {
		i += 3 << (b[10]&7 + 1)
	}
	if b[i] != 0x2C {
		t.Fatalf("no image descriptor after the GIF header: % x", b[i:i+4])
	}
	binary.LittleEndian.PutUint16(b[i+5:], 60000)
	binary.LittleEndian.PutUint16(b[i+7:], 60000)
	return b
}

// vp8lChunk is a lossless WebP bitstream header for w×h (14 bits each;
// libwebp takes 16383 at most) followed by a few bytes of nothing.
func vp8lChunk(w, h uint32) []byte {
	data := make([]byte, 5, 5+16)
	data[0] = 0x2F // the VP8L signature
	binary.LittleEndian.PutUint32(data[1:], (w-1)|(h-1)<<14)
	data = append(data, make([]byte, 16)...)
	return riffChunk("VP8L", data)
}

// vp8xChunk is the extended-format header with a canvas of w×h (24 bits
// each) and flags.
func vp8xChunk(w, h uint32, flags byte) []byte {
	data := make([]byte, 10)
	data[0] = flags
	put24 := func(b []byte, v uint32) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }
	put24(data[4:], w-1)
	put24(data[7:], h-1)
	return riffChunk("VP8X", data)
}

func riffChunk(typ string, data []byte) []byte {
	b := make([]byte, 8, 8+len(data)+1)
	copy(b, typ)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func webpFile(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := []byte("RIFF\x00\x00\x00\x00")
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	return append(b, body...)
}

// webpWithMetadata turns a simple WebP of w×h into the extended format
// with EXIF and XMP chunks after the image, as the WebP container
// specification orders them.
func webpWithMetadata(t *testing.T, src []byte, w, h uint32, exif, xmp []byte) []byte {
	t.Helper()
	const exifFlag, xmpFlag = 0x08, 0x04
	chunks := [][]byte{vp8xChunk(w, h, exifFlag|xmpFlag)}
	for i := 12; i+8 <= len(src); {
		n := int(binary.LittleEndian.Uint32(src[i+4:]))
		end := min(i+8+n+n&1, len(src))
		if typ := string(src[i : i+4]); typ == "VP8 " || typ == "VP8L" {
			chunks = append(chunks, src[i:end])
		}
		i = end
	}
	if len(chunks) != 2 {
		t.Fatalf("want one opaque still image in the WebP to extend, found %d", len(chunks)-1)
	}
	return webpFile(append(chunks, riffChunk("EXIF", exif), riffChunk("XMP ", xmp))...)
}

func pngChunk(typ string, data []byte) []byte {
	b := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(b, uint32(len(data)))
	copy(b[4:], typ)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// pngWithChunks inserts chunks right after IHDR, where eXIf must come
// (before IDAT).
func pngWithChunks(p []byte, chunks ...[]byte) []byte {
	end := 8 + 12 + int(binary.BigEndian.Uint32(p[8:]))
	out := slices.Clone(p[:end])
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, p[end:]...)
}

// jpegWithSegments inserts segments (marker included) right after SOI.
func jpegWithSegments(j []byte, segs ...[]byte) []byte {
	out := slices.Clone(j[:2])
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, j[2:]...)
}

func jpegSegment(marker byte, payload []byte) []byte {
	b := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(2+len(payload)))
	return append(b, payload...)
}

func app1(payload []byte) []byte { return jpegSegment(0xE1, payload) }

func comSegment(text string) []byte { return jpegSegment(0xFE, []byte(text)) }

// gifWithComment inserts a comment extension before the first block after
// the header and global colour table.
func gifWithComment(g []byte, text string) []byte {
	i := 13
	if g[10]&0x80 != 0 {
		i += 3 << (g[10]&7 + 1)
	}
	ext := []byte{0x21, 0xFE}
	for rest := []byte(text); len(rest) > 0; {
		n := min(len(rest), 255)
		ext = append(ext, byte(n))
		ext = append(ext, rest[:n]...)
		rest = rest[n:]
	}
	ext = append(ext, 0)
	out := slices.Clone(g[:i])
	out = append(out, ext...)
	return append(out, g[i:]...)
}

func xmpBody() []byte {
	return []byte(`<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>` +
		`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"` +
		` exif:GPSLatitude="48,51.4028N" exif:GPSLongitude="2,17.6667E" exif:GPSMapDatum="` + gpsMarker + `">` +
		`<dc:description><![CDATA[` + script + `]]></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>` +
		`<?xpacket end="w"?>`)
}

func xmpPacket() []byte {
	return append([]byte("http://ns.adobe.com/xap/1.0/\x00"), xmpBody()...)
}

// --- TIFF structures: EXIF is a TIFF file ---

// Field types of TIFF 6.0.
const (
	tiffByte     = 1
	tiffASCII    = 2
	tiffShort    = 3
	tiffLong     = 4
	tiffRational = 5
)

type tiffField struct {
	tag, typ uint16
	count    uint32
	data     []byte // in the file's byte order
}

// tiffWriter lays out IFDs: each IFD's values that do not fit in four
// bytes follow it.
type tiffWriter struct {
	order binary.AppendByteOrder
	buf   []byte
}

func (w *tiffWriter) ascii(tag uint16, s string) tiffField {
	return tiffField{tag, tiffASCII, uint32(len(s) + 1), append([]byte(s), 0)}
}

func (w *tiffWriter) short(tag uint16, v uint16) tiffField {
	return tiffField{tag, tiffShort, 1, w.order.AppendUint16(nil, v)}
}

func (w *tiffWriter) long(tag uint16, v uint32) tiffField {
	return tiffField{tag, tiffLong, 1, w.order.AppendUint32(nil, v)}
}

func (w *tiffWriter) rationals(tag uint16, v ...uint32) tiffField {
	var b []byte
	for _, x := range v {
		b = w.order.AppendUint32(b, x)
	}
	return tiffField{tag, tiffRational, uint32(len(v) / 2), b}
}

// ifdSize is how many bytes writeIFD will use for fields.
func ifdSize(fields []tiffField) int {
	n := 2 + 12*len(fields) + 4
	for _, f := range fields {
		if len(f.data) > 4 {
			n += len(f.data) + len(f.data)&1
		}
	}
	return n
}

// writeIFD appends an IFD with fields (sorted by tag, as TIFF requires)
// at the current end, with next as the next IFD's offset.
func (w *tiffWriter) writeIFD(fields []tiffField, next uint32) {
	slices.SortFunc(fields, func(a, b tiffField) int { return int(a.tag) - int(b.tag) })
	start := len(w.buf)
	extra := start + 2 + 12*len(fields) + 4
	var values []byte
	w.buf = w.order.AppendUint16(w.buf, uint16(len(fields)))
	for _, f := range fields {
		w.buf = w.order.AppendUint16(w.buf, f.tag)
		w.buf = w.order.AppendUint16(w.buf, f.typ)
		w.buf = w.order.AppendUint32(w.buf, f.count)
		if len(f.data) <= 4 {
			var v [4]byte
			copy(v[:], f.data)
			w.buf = append(w.buf, v[:]...)
			continue
		}
		w.buf = w.order.AppendUint32(w.buf, uint32(extra+len(values)))
		values = append(values, f.data...)
		if len(f.data)%2 == 1 {
			values = append(values, 0)
		}
	}
	w.buf = w.order.AppendUint32(w.buf, next)
	w.buf = append(w.buf, values...)
}

func newTIFF(order binary.AppendByteOrder) *tiffWriter {
	w := &tiffWriter{order: order}
	if order == binary.BigEndian {
		w.buf = []byte("MM\x00\x2A")
	} else {
		w.buf = []byte("II\x2A\x00")
	}
	w.buf = order.AppendUint32(w.buf, 8)
	return w
}

// exifTIFF is an EXIF block: IFD0 with a script in ImageDescription, a
// camera make libvips reports, and a GPS IFD with coordinates and a marker
// datum.
func exifTIFF() []byte {
	w := newTIFF(binary.BigEndian)
	gps := []tiffField{
		{0x0000, tiffByte, 4, []byte{2, 3, 0, 0}}, // GPSVersionID
		w.ascii(0x0001, "N"),                      // GPSLatitudeRef
		w.rationals(0x0002, 48, 1, 51, 1, 2417, 100),
		w.ascii(0x0003, "E"), // GPSLongitudeRef
		w.rationals(0x0004, 2, 1, 17, 1, 4000, 100),
		w.ascii(0x0012, gpsMarker), // GPSMapDatum
	}
	ifd0 := []tiffField{
		w.ascii(0x010E, script), // ImageDescription
		w.ascii(0x010F, exifMake),
		w.ascii(0x0110, "Model <img src=x onerror=alert(1)>"),
		w.short(0x0112, 1),      // Orientation
		w.long(0x8825, 0),       // GPSInfo, filled in below
		w.ascii(0x0131, script), // Software
	}
	gpsOffset := uint32(8 + ifdSize(ifd0))
	ifd0[4] = w.long(0x8825, gpsOffset)
	w.writeIFD(ifd0, 0)
	w.writeIFD(gps, 0)
	return w.buf
}

// genTIFF is a real 2×2 8-bit greyscale baseline TIFF.
func genTIFF(order binary.AppendByteOrder) []byte {
	w := newTIFF(order)
	fields := []tiffField{
		w.short(256, 2), w.short(257, 2), // ImageWidth, ImageLength
		w.short(258, 8), w.short(259, 1), w.short(262, 1), // BitsPerSample, Compression none, BlackIsZero
		w.long(273, 0), w.short(278, 2), w.long(279, 4), // StripOffsets (below), RowsPerStrip, StripByteCounts
	}
	fields[5] = w.long(273, uint32(8+ifdSize(fields)))
	w.writeIFD(fields, 0)
	return append(w.buf, 0, 255, 255, 0)
}

// genBMP is a real 2×2 24-bit BMP.
func genBMP() []byte {
	const rowBytes = 8 // 2 pixels × 3 bytes, padded to 4
	b := []byte("BM")
	b = binary.LittleEndian.AppendUint32(b, 54+2*rowBytes)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 54)
	for _, v := range []uint32{40, 2, 2} { // header size, width, height
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = binary.LittleEndian.AppendUint16(b, 1)  // planes
	b = binary.LittleEndian.AppendUint16(b, 24) // bits per pixel
	for _, v := range []uint32{0, 2 * rowBytes, 2835, 2835, 0, 0} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return append(b, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0)
}

// genPSD is a real 1×1 RGB Photoshop file, uncompressed.
func genPSD() []byte {
	b := []byte("8BPS\x00\x01\x00\x00\x00\x00\x00\x00")
	b = binary.BigEndian.AppendUint16(b, 3) // channels
	b = binary.BigEndian.AppendUint32(b, 1) // height
	b = binary.BigEndian.AppendUint32(b, 1) // width
	b = binary.BigEndian.AppendUint16(b, 8) // depth
	b = binary.BigEndian.AppendUint16(b, 3) // RGB
	b = append(b, make([]byte, 12)...)      // colour mode data, resources, layers: empty
	b = binary.BigEndian.AppendUint16(b, 0) // raw
	return append(b, 255, 0, 0)
}

// rotatedHEIC is a HEIC of img with an irot property, as an iPhone writes:
// libheif turns it while decoding.
func rotatedHEIC(t *testing.T, img []byte) []byte {
	t.Helper()
	b, err := heictest.Rotate(heictest.EncodeBytes(t, img, 50), 1)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// floodHEIC is a small real HEIC whose ispe property (the size every
// reader takes from the header) claims w×h: the coded image is 64×64.
// libheif itself refuses sides over 16384, so the flood stays under that
// and over the pixel limit. 64 is a whole HEVC coding block, so heif-enc
// writes no clap (crop) property that would hide the claimed size.
func floodHEIC(t *testing.T, w, h uint32) []byte {
	t.Helper()
	b := heictest.EncodeBytes(t, encodePNG(t, genImage(64, 64, false)), 50)
	i := bytes.Index(b, []byte("ispe"))
	if i < 0 || i+16 > len(b) || bytes.Contains(b, []byte("clap")) {
		t.Fatal("heif-enc wrote no ispe property, or a clap one")
	}
	// After the type: version and flags, then the width and height.
	binary.BigEndian.PutUint32(b[i+8:], w)
	binary.BigEndian.PutUint32(b[i+12:], h)
	return b
}
