package transform

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pictorhq/pictor/internal/animtest"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

// memCase is one transform whose peak memory is measured against its
// estimate: the original's file name (under the fixture directory) and
// one option string per variant made from one decode.
type memCase struct {
	file string
	opts []string
}

// TestEstimateCoversMeasuredPeak runs transforms of large generated
// originals and of the PngSuite and EXIF corpus in a child process, one at
// a time, each from a freshly trimmed C heap with the peak RSS reset, and
// checks that Work.Bytes was at least the peak each reached above the RSS
// it started from. The cases cover every branch of the estimate: streamed
// and held decodes, shrink-on-load, 16-bit, progressive and interlaced
// sources, an EXIF rotation, several variants from one decode, the smart
// crop's copy and a large output.
func TestEstimateCoversMeasuredPeak(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds large originals and runs a child process; make test (no -short) runs it")
	}
	if !resettablePeak() {
		t.Skip("this kernel cannot reset the peak RSS (/proc/self/clear_refs 5, Linux 4.0+), so there is nothing to measure against; it runs on the dev machine and CI, whose kernels can")
	}
	dir := t.TempDir()
	cases := memFixtures(t, dir)
	var list strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&list, "%s\t%s\n", c.file, strings.Join(c.opts, " "))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEstimateChild$", "-test.v")
	cmd.Env = append(os.Environ(), "PICTOR_MEMTEST_DIR="+dir, "PICTOR_MEMTEST_CASES="+list.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	measured := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 || f[0] != "MEM" {
			continue
		}
		est, _ := strconv.ParseInt(f[3], 10, 64)
		peak, _ := strconv.ParseInt(f[4], 10, 64)
		measured++
		t.Logf("%-28s %-34s estimate %7.1f MiB  peak %7.1f MiB", f[1], f[2], mib(est), mib(peak))
		if est < peak {
			t.Errorf("%s %s: estimate %.1f MiB under the measured peak %.1f MiB", f[1], f[2], mib(est), mib(peak))
		}
	}
	if measured != len(cases) {
		t.Fatalf("child measured %d of %d cases:\n%s", measured, len(cases), out)
	}
}

// TestEstimateChild is the child process of TestEstimateCoversMeasuredPeak.
func TestEstimateChild(t *testing.T) {
	dir := os.Getenv("PICTOR_MEMTEST_DIR")
	if dir == "" {
		t.Skip("no PICTOR_MEMTEST_DIR: this is TestEstimateCoversMeasuredPeak's child, which runs when that test re-executes the test binary with it set")
	}
	p := newProcessor(t)
	warm := readFile(t, filepath.Join("..", "testdata", "corpus", "pngsuite", "basn6a08.png"))
	for _, line := range strings.Split(strings.TrimSpace(os.Getenv("PICTOR_MEMTEST_CASES")), "\n") {
		file, opts, _ := strings.Cut(line, "\t")
		src := mapFile(t, filepath.Join(dir, file))
		srcFmt, _ := format.FromKey(file)
		var reqs []Request
		for _, o := range strings.Fields(opts) {
			op := parse(t, o)
			reqs = append(reqs, Request{Options: op, Output: Negotiate(op, srcFmt, nil, false)})
		}
		// Warm the path (thread pools, codec tables), then start from a
		// trimmed heap with the peak reset to the resident set.
		if _, err := p.Variants(context.Background(), "", warm, []Request{{Options: parse(t, "w_16"), Output: reqs[0].Output}}); err != nil {
			t.Fatal(err)
		}
		vips.ReleaseMemory()
		base := resetPeak(t)
		w, err := p.Prepare("", src, reqs)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		w.Borrow()
		if _, err := p.Run(context.Background(), w); err != nil {
			t.Fatalf("%s %s: %v", file, opts, err)
		}
		peak := procStatus(t, "VmHWM") - base
		fmt.Printf("MEM %s %s %d %d\n", file, strings.ReplaceAll(opts, " ", "+"), w.Bytes(), peak)
		if err := syscall.Munmap(src); err != nil {
			t.Fatal(err)
		}
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// memFixtures writes the large originals into dir and returns the cases:
// those, then the test corpus at a thumbnail size.
func memFixtures(t *testing.T, dir string) []memCase {
	t.Helper()
	pix := func(w, h, bands int) []byte {
		b := make([]byte, w*h*bands)
		for y := range h {
			for x := range w {
				for c := range bands {
					b[(y*w+x)*bands+c] = uint8(x*(c+1) ^ y>>c)
				}
			}
		}
		return b
	}
	write := func(name string, w, h, bands int, so vips.SaveOptions) []byte {
		img, err := vips.FromPixels(pix(w, h, bands), w, h, bands, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer img.Close()
		body, err := img.Save(so)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
		return body
	}
	jpg := write("photo.jpg", 3200, 2400, 3, vips.SaveOptions{Format: format.JPEG, Quality: 85})
	write("progressive.jpg", 3200, 2400, 3, vips.SaveOptions{Format: format.JPEG, Quality: 85, Progressive: true})
	if err := os.WriteFile(filepath.Join(dir, "rotated.jpg"), withOrientation(jpg, 6), 0o600); err != nil {
		t.Fatal(err)
	}
	write("photo.webp", 3000, 2000, 3, vips.SaveOptions{Format: format.WebP, Quality: 80})
	write("alpha.png", 3000, 2000, 4, vips.SaveOptions{Format: format.PNG})
	write("anim.gif", 1500, 1000, 3, vips.SaveOptions{Format: format.GIF})
	copyFile(t, filepath.Join("testdata", "rgba16-3000.png"), filepath.Join(dir, "rgba16.png"))
	// An animation decoded whole: 60 frames of 480×270, 7.8 MP stacked.
	if err := os.WriteFile(filepath.Join(dir, "movie.gif"), animtest.Movie(60, 480, 270), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []memCase{
		{"photo.jpg", []string{"w_400"}},
		{"photo.jpg", []string{"w_3000"}},
		{"photo.jpg", []string{"w_1600", "w_800", "w_400"}},
		{"progressive.jpg", []string{"w_400"}},
		{"rotated.jpg", []string{"w_400"}},
		{"photo.webp", []string{"w_400,f_jpeg"}},
		{"alpha.png", []string{"w_400,f_webp"}},
		{"alpha.png", []string{"w_1000,f_webp"}},
		{"alpha.png", []string{"w_400,h_400,c_fill,g_auto"}},
		{"anim.gif", []string{"w_200"}},
		{"movie.gif", []string{"w_200"}},
		{"movie.gif", []string{"w_200,f_webp"}},
		{"movie.gif", []string{"w_200,h_200,c_fill,e_blur:1"}},
		{"movie.gif", []string{"w_300", "w_100,f_webp", "w_200,f_jpeg", "w_100,pg_5,f_png"}},
		{"rgba16.png", []string{"w_200,f_webp"}},
		{"rgba16.png", []string{"w_1200", "w_200,f_webp"}},
		{"rgba16.png", []string{"w_2000,e_blur:3"}},
		{"alpha.png", []string{"w_1200,a_90,r_60,bo_8_ff0000,e_trim"}},
		{"photo.jpg", []string{"w_900,h_900,c_pad,b_blur,e_pixelate:8"}},
		{"photo.jpg", []string{"w_1600,l_text:UGljdG9yIOWbvueJhyB3YXRlcm1hcms,ls_80,lt_1,lo_50"}},
	}
	for _, sub := range []string{"pngsuite", "exif-orientation"} {
		src := filepath.Join("..", "testdata", "corpus", sub)
		ents, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			name := e.Name()
			if _, ok := format.FromKey(name); !ok || strings.HasPrefix(name, "x") { // PngSuite's x* files are corrupt on purpose
				continue
			}
			copyFile(t, filepath.Join(src, name), filepath.Join(dir, sub+"-"+name))
			cases = append(cases, memCase{sub + "-" + name, []string{"w_16,f_webp"}})
		}
	}
	return cases
}

// withOrientation inserts an EXIF block with only an orientation tag
// after a JPEG's SOI marker.
func withOrientation(jpg []byte, o uint16) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(tiff[18:], o)
	seg := append([]byte{0xFF, 0xE1, 0, 0}, "Exif\x00\x00"...)
	seg = append(seg, tiff...)
	binary.BigEndian.PutUint16(seg[2:], uint16(len(seg)-2))
	return append(append(append([]byte(nil), jpg[:2]...), seg...), jpg[2:]...)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// mapFile maps a file as the store does, outside the Go heap.
func mapFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func resettablePeak() bool {
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.WriteString("5")
	return err == nil
}

// resetPeak sets VmHWM to the current RSS and returns that RSS.
func resetPeak(t *testing.T) int64 {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatal(err)
	}
	return procStatus(t, "VmRSS")
}

// procStatus reads a kB field of /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
