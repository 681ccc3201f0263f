// Package animtest makes and reads animated GIFs for tests and the bench
// set-up, with Go's image/gif: fixtures whose frame count, delays, loop
// count and colours are known, so that outputs can be checked against
// them without committing binary files.
package animtest

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
)

// palette holds the frame colours: far apart in RGB so that a frame keeps
// its identity through resampling and lossy encoding.
var palette = color.Palette{
	color.RGBA{0xe0, 0x20, 0x20, 0xff},
	color.RGBA{0x20, 0xe0, 0x20, 0xff},
	color.RGBA{0x20, 0x20, 0xe0, 0xff},
	color.RGBA{0xe0, 0xe0, 0x20, 0xff},
	color.RGBA{0x20, 0xe0, 0xe0, 0xff},
	color.RGBA{0xe0, 0x20, 0xe0, 0xff},
	color.RGBA{0xf0, 0xf0, 0xf0, 0xff},
	color.RGBA{0x10, 0x10, 0x10, 0xff},
}

// Color is frame i's colour in GIF.
func Color(i int) color.RGBA { return palette[i%len(palette)].(color.RGBA) }

// Nearest is the index (mod the palette) of the frame colour nearest c.
func Nearest(c color.Color) int { return palette.Index(c) }

// GIF is an animation of n frames of w×h: frame i is filled with Color(i)
// but for a one-pixel Color(i+1) border, which shows whether a resize
// mixed neighbouring frames. Frame i shows delays[i%len(delays)]
// centiseconds; loop is image/gif's LoopCount (0 forever, n: n+1 plays).
func GIF(n, w, h int, delays []int, loop int) []byte {
	g := &gif.GIF{LoopCount: loop}
	r := image.Rect(0, 0, w, h)
	for i := 0; i < n; i++ {
		im := image.NewPaletted(r, palette)
		draw.Draw(im, r, image.NewUniform(Color(i+1)), image.Point{}, draw.Src)
		if w > 2 && h > 2 {
			draw.Draw(im, r.Inset(1), image.NewUniform(Color(i)), image.Point{}, draw.Src)
		}
		g.Image = append(g.Image, im)
		g.Delay = append(g.Delay, delays[i%len(delays)])
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		panic(err) // only for sizes image/gif refuses: a bug in the caller
	}
	return b.Bytes()
}

// Decoded is an animated GIF as image/gif reads it.
type Decoded struct {
	Width, Height int
	Frames        []*image.RGBA // composited: what a viewer shows
	Delays        []int         // centiseconds
	LoopCount     int           // image/gif's: 0 forever, -1 once
}

// Centre is frame i's pixel in the middle of the frame.
func (d Decoded) Centre(i int) color.Color {
	f := d.Frames[i]
	b := f.Bounds()
	return f.At((b.Min.X+b.Max.X)/2, (b.Min.Y+b.Max.Y)/2)
}

// Decode reads every frame of a GIF.
func Decode(b []byte) (Decoded, error) {
	g, err := gif.DecodeAll(bytes.NewReader(b))
	if err != nil {
		return Decoded{}, err
	}
	d := Decoded{Width: g.Config.Width, Height: g.Config.Height, Delays: g.Delay, LoopCount: g.LoopCount}
	// Encoders (cgif among them) write only the part of a frame that
	// changed, over the previous one: draw each over the last.
	canvas := image.NewRGBA(image.Rect(0, 0, d.Width, d.Height))
	for _, f := range g.Image {
		draw.Draw(canvas, f.Bounds(), f, f.Bounds().Min, draw.Over)
		d.Frames = append(d.Frames, image.NewRGBA(canvas.Bounds()))
		copy(d.Frames[len(d.Frames)-1].Pix, canvas.Pix)
	}
	return d, nil
}

// Movie is an animation like a short video clip turned GIF: n frames of
// w×h, a diagonal colour ramp that scrolls a few pixels a frame under a
// dark disc that moves across it, so that every frame differs from the
// last nearly everywhere. 4 centiseconds a frame (25 a second), looping
// forever. It is what the bench's animated scenario resizes.
func Movie(n, w, h int) []byte {
	pal := make(color.Palette, 256)
	for i := range 255 {
		// A hue ramp: red → green → blue → red in 255 steps.
		r, g, b := ramp(i), ramp(i+85), ramp(i+170)
		pal[i] = color.RGBA{r, g, b, 0xff}
	}
	const disc = 255
	pal[disc] = color.RGBA{0x20, 0x20, 0x20, 0xff}
	g := &gif.GIF{}
	rad := max(min(w, h)/6, 1)
	for i := range n {
		im := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		cx, cy := (i*7)%max(w, 1), h/2+(h/4)*((i/10)%2*2-1)
		for y := range h {
			row := im.Pix[y*im.Stride : y*im.Stride+w]
			for x := range row {
				if dx, dy := x-cx, y-cy; dx*dx+dy*dy <= rad*rad {
					row[x] = disc
					continue
				}
				row[x] = uint8((x + y/2 + 3*i) % 255)
			}
		}
		g.Image = append(g.Image, im)
		g.Delay = append(g.Delay, 4)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// ramp is one channel of Movie's hue ramp at step i (mod 255): up over a
// third, down over the next, off for the last.
func ramp(i int) uint8 {
	i %= 255
	switch {
	case i < 85:
		return uint8(i * 3)
	case i < 170:
		return uint8((170 - i) * 3)
	}
	return 0
}
