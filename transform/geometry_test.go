package transform

import (
	"errors"
	"testing"

	"github.com/pictorhq/pictor/transform/options"
)

func TestPlan(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name string
		w, h int
		o    options.Options
		want geometry
		err  error
	}{
		{"no size keeps the source", 800, 600, options.Options{}, geometry{resizeW: 800, resizeH: 600}, nil},
		{"fit by width", 3840, 2400, options.Options{Width: 400}, geometry{resizeW: 400, resizeH: 250}, nil},
		{"fit by height", 3840, 2400, options.Options{Height: 300}, geometry{resizeW: 480, resizeH: 300}, nil},
		{"fit in a box", 3840, 2400, options.Options{Width: 400, Height: 400}, geometry{resizeW: 400, resizeH: 250}, nil},
		{"fit upscales", 100, 50, options.Options{Width: 400}, geometry{resizeW: 400, resizeH: 200}, nil},
		{"limit never upscales", 100, 50, options.Options{Width: 400, Crop: options.Limit}, geometry{resizeW: 100, resizeH: 50}, nil},
		{"limit downscales", 1000, 500, options.Options{Width: 400, Crop: options.Limit}, geometry{resizeW: 400, resizeH: 200}, nil},
		{"dpr doubles", 3840, 2400, options.Options{Width: 200, DPR: 2}, geometry{resizeW: 400, resizeH: 250}, nil},
		{"fill covers then crops", 3840, 2400, options.Options{Width: 400, Height: 400, Crop: options.Fill},
			geometry{resizeW: 640, resizeH: 400, boxW: 400, boxH: 400, crop: true}, nil},
		{"fill with one side is fit", 3840, 2400, options.Options{Width: 400, Crop: options.Fill},
			geometry{resizeW: 400, resizeH: 250}, nil},
		{"pad fits then pads", 3840, 2400, options.Options{Width: 400, Height: 400, Crop: options.Pad},
			geometry{resizeW: 400, resizeH: 250, boxW: 400, boxH: 400, pad: true}, nil},
		{"scale ignores aspect", 3840, 2400, options.Options{Width: 400, Height: 400, Crop: options.Scale},
			geometry{resizeW: 400, resizeH: 400}, nil},
		{"scale by one side keeps aspect", 3840, 2400, options.Options{Height: 240, Crop: options.Scale},
			geometry{resizeW: 384, resizeH: 240}, nil},
		{"region", 800, 600, options.Options{Width: 100, Height: 50, X: 10, Y: 20, Crop: options.Region},
			geometry{resizeW: 100, resizeH: 50, boxW: 100, boxH: 50, region: true, regionX: 10, regionY: 20}, nil},
		{"region clipped at the edge", 800, 600, options.Options{Width: 100, Height: 100, X: 750, Y: 550, Crop: options.Region},
			geometry{resizeW: 50, resizeH: 50, boxW: 50, boxH: 50, region: true, regionX: 750, regionY: 550}, nil},
		{"region outside", 800, 600, options.Options{Width: 10, Height: 10, X: 800, Crop: options.Region}, geometry{}, ErrRegion},
		{"dpr past the limit", 800, 600, options.Options{Width: 8000, DPR: 2}, geometry{}, ErrOutputTooLarge},
		{"output pixels past the limit", 10, 10, options.Options{Width: 8192, Height: 8192, Crop: options.Scale}, geometry{}, ErrOutputTooLarge},
		{"a sliver never rounds to zero", 10000, 10, options.Options{Width: 100}, geometry{resizeW: 100, resizeH: 1}, nil},
	}
	for _, tt := range tests {
		got, err := plan(tt.w, tt.h, tt.o, cfg)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("%s: plan(%d, %d, %v) = %+v, %v; want %+v, %v", tt.name, tt.w, tt.h, tt.o, got, err, tt.want, tt.err)
		}
	}
}

func TestShrinkOnLoad(t *testing.T) {
	tests := []struct {
		w, h int
		g    geometry
		want int
	}{
		// The case: 3840 wide to 400 must load at 1/8 (480 ≥ 400).
		{3840, 2400, geometry{resizeW: 400, resizeH: 250}, 8},
		{3840, 2400, geometry{resizeW: 481, resizeH: 301}, 4},
		{3840, 2400, geometry{resizeW: 960, resizeH: 600}, 4},
		{3840, 2400, geometry{resizeW: 961, resizeH: 600}, 2},
		{3840, 2400, geometry{resizeW: 1920, resizeH: 1200}, 2},
		{3840, 2400, geometry{resizeW: 1921, resizeH: 1201}, 1},
		{3840, 2400, geometry{resizeW: 7680, resizeH: 4800}, 1},
		// Scale to a tall box: the height decides.
		{3840, 2400, geometry{resizeW: 400, resizeH: 2000}, 1},
		{3840, 2400, geometry{resizeW: 40, resizeH: 25, region: true}, 1},
	}
	for _, tt := range tests {
		if got := shrinkOnLoad(tt.w, tt.h, tt.g); got != tt.want {
			t.Errorf("shrinkOnLoad(%d, %d, %+v) = %d, want %d", tt.w, tt.h, tt.g, got, tt.want)
		}
	}
}

func TestAnchor(t *testing.T) {
	tests := []struct {
		g            options.Gravity
		wantX, wantY int
	}{
		{options.Center, 50, 25},
		{options.North, 50, 0},
		{options.South, 50, 50},
		{options.East, 100, 25},
		{options.West, 0, 25},
		{options.NorthEast, 100, 0},
		{options.NorthWest, 0, 0},
		{options.SouthEast, 100, 50},
		{options.SouthWest, 0, 50},
	}
	for _, tt := range tests {
		x, y := anchor(tt.g, 200, 100, 100, 50)
		if x != tt.wantX || y != tt.wantY {
			t.Errorf("anchor(%v, 200, 100, 100, 50) = %d, %d; want %d, %d", tt.g, x, y, tt.wantX, tt.wantY)
		}
	}
}
