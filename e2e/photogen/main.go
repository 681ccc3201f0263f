// Command photogen writes photo-like JPEGs for the resumable-upload tests:
// a real photo from the test corpus, enlarged, with sensor-like grain in
// luma and chroma, so that the file is as large as a phone's photo and as
// incompressible, and decodes like any other JPEG.
//
//	photogen -src photo.jpg -out DIR -bytes 31457280 -count 1 -seed 1
//
// It writes DIR/photo-<seed+i>.jpg for i < count, each at least -bytes long
// and each different. The end-to-end tests run it with `go run`, without
// the race detector: instrumented, the same loop takes minutes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	src := flag.String("src", "", "source photo (baseline JPEG)")
	out := flag.String("out", ".", "output directory")
	size := flag.Int("bytes", 30<<20, "smallest file size")
	count := flag.Int("count", 1, "how many files")
	seed := flag.Uint64("seed", 1, "seed of the first file")
	flag.Parse()
	if err := run(*src, *out, *size, *count, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "photogen:", err)
		os.Exit(1)
	}
}

func run(srcPath, out string, size, count int, seed uint64) error {
	f, err := os.Open(srcPath)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		return err
	}
	src, ok := img.(*image.YCbCr)
	if !ok {
		return fmt.Errorf("%s: not a YCbCr JPEG", srcPath)
	}
	aspect := float64(src.Bounds().Dx()) / float64(src.Bounds().Dy())
	for i := range count {
		// About one byte per pixel at quality 99 with this grain; enlarged
		// and tried again when short.
		px := float64(size) * 1.05
		for {
			h := int(math.Sqrt(px / aspect))
			w := int(float64(h) * aspect)
			b := grainy(src, w, h, seed+uint64(i))
			if b.Len() >= size {
				if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("photo-%d.jpg", seed+uint64(i))), b.Bytes(), 0o644); err != nil {
					return err
				}
				break
			}
			px *= float64(size) / float64(b.Len()) * 1.03
		}
	}
	return nil
}

// grainy enlarges src to w×h (nearest neighbour) and adds grain.
func grainy(src *image.YCbCr, w, h int, seed uint64) *bytes.Buffer {
	dst := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444)
	sb := src.Bounds()
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	clamp := func(v int) uint8 { return uint8(max(0, min(255, v))) }
	for y := range h {
		sy := sb.Min.Y + y*sb.Dy()/h
		for x := range w {
			sx := sb.Min.X + x*sb.Dx()/w
			yi, ci := src.YOffset(sx, sy), src.COffset(sx, sy)
			di := dst.YOffset(x, y)
			dst.Y[di] = clamp(int(src.Y[yi]) + rng.IntN(41) - 20)
			dst.Cb[di] = clamp(int(src.Cb[ci]) + rng.IntN(13) - 6)
			dst.Cr[di] = clamp(int(src.Cr[ci]) + rng.IntN(13) - 6)
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, dst, &jpeg.Options{Quality: 99})
	return &b
}
