package resample

import "github.com/pictorhq/pictor/transform/vips"

// Engine is p as the CPU resize engine takes it (vips.Image.Resample and
// the decoders that feed it rows): the same steps and tables, so its
// result equals Reference's and the kernels' byte for byte.
func (p *Plan) Engine() *vips.Plan {
	axis := func(a *Axis) vips.Axis {
		return vips.Axis{Shrink: a.Shrink, Shrunk: a.Shrunk, Out: a.Out, Points: a.Points,
			Start: a.Start, Phase: a.Phase, Fixed: a.Fixed, Int: a.Int}
	}
	return &vips.Plan{Width: p.Width, Height: p.Height, Bands: p.Bands, Alpha: p.Alpha, V: axis(&p.V), H: axis(&p.H)}
}
