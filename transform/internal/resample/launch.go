package resample

import "encoding/binary"

// Buffer names the memory a kernel argument points into. A backend maps
// each to a device (or host) address.
type Buffer uint8

// The buffers of one job.
const (
	BufIn     Buffer = iota // the uchar input, InBytes
	BufOut                  // the uchar output, OutBytes
	BufA                    // scratch, ScratchBytes
	BufB                    // scratch, ScratchBytes
	BufTables               // Tables().Blob
)

// Arg is one kernel argument: an address (Buffer plus byte offset) or an
// integer value of Size bytes (4 for int, 8 for long long).
type Arg struct {
	Pointer bool
	Buf     Buffer
	Offset  int
	Value   int64
	Size    int
}

func ptr(b Buffer, off int) Arg { return Arg{Pointer: true, Buf: b, Offset: off} }
func i32(v int) Arg             { return Arg{Value: int64(v), Size: 4} }
func i64(v int64) Arg           { return Arg{Value: v, Size: 8} }

// Launch is one kernel call: the entry point in resize.cu, the number of
// items its loop covers (for the grid size) and its arguments in order.
type Launch struct {
	Kernel string
	Items  int64
	Args   []Arg
}

// Tables is a plan's weight tables and sampling positions in one block, as
// the kernels read them, and where each part starts.
type Tables struct {
	Blob                  []byte
	VStart, VPhase, VCoef int
	HStart, HPhase, HCoef int
}

// Tables lays out the parts of the plan the kernels read: per axis the tap
// starts and phases (int32) and the weights (int16 2.6 fixed point for the
// vertical reduce, int32 12-bit for the horizontal one), each 8-byte
// aligned.
func (p *Plan) Tables() Tables {
	var t Tables
	var b []byte
	align := func() int {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		return len(b)
	}
	ints := func(v []int32) int {
		off := align()
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, uint32(x))
		}
		return off
	}
	if p.V.Points > 0 {
		t.VStart, t.VPhase = ints(p.V.Start), ints(p.V.Phase)
		t.VCoef = align()
		for _, x := range p.V.Fixed {
			b = binary.LittleEndian.AppendUint16(b, uint16(x))
		}
	}
	if p.H.Points > 0 {
		t.HStart, t.HPhase = ints(p.H.Start), ints(p.H.Phase)
		t.HCoef = ints(p.H.Int)
	}
	align()
	if len(b) == 0 {
		b = make([]byte, 8) // never an empty allocation
	}
	t.Blob = b
	return t
}

// Launches is the plan as kernel calls, reading BufIn first, alternating
// between BufA and BufB, and writing BufOut last.
func (p *Plan) Launches(t Tables) []Launch {
	nb := p.Bands
	var ls []Launch
	src := BufIn
	for i, s := range p.Stages {
		dst := BufA
		switch {
		case i == len(p.Stages)-1:
			dst = BufOut
		case src == BufA:
			dst = BufB
		}
		in, out := ptr(src, 0), ptr(dst, 0)
		rowlen := s.InW * nb
		var l Launch
		switch s.Op {
		case OpPremultiply:
			npix := int64(s.InW) * int64(s.InH)
			l = Launch{"pictor_premultiply", npix, []Arg{in, out, i64(npix), i32(nb)}}
		case OpUnpremultiply:
			npix := int64(s.InW) * int64(s.InH)
			l = Launch{"pictor_unpremultiply", npix, []Arg{in, out, i64(npix), i32(nb)}}
		case OpShrinkV:
			l = Launch{"pictor_shrinkv", int64(rowlen) * int64(s.OutH),
				[]Arg{in, out, i32(rowlen), i32(s.InH), i32(s.OutH), i32(p.V.Shrink)}}
		case OpReduceV:
			l = Launch{"pictor_reducev", int64(rowlen) * int64(s.OutH),
				[]Arg{in, out, i32(rowlen), i32(s.InH), i32(s.OutH), i32(p.V.Points),
					ptr(BufTables, t.VCoef), ptr(BufTables, t.VStart), ptr(BufTables, t.VPhase)}}
		case OpShrinkH:
			l = Launch{"pictor_shrinkh", int64(s.OutW) * int64(s.OutH) * int64(nb),
				[]Arg{in, out, i32(s.InW), i32(s.OutW), i32(s.InH), i32(nb), i32(p.H.Shrink)}}
		case OpReduceH:
			l = Launch{"pictor_reduceh", int64(s.OutW) * int64(s.OutH) * int64(nb),
				[]Arg{in, out, i32(s.InW), i32(s.OutW), i32(s.InH), i32(nb), i32(p.H.Points),
					ptr(BufTables, t.HCoef), ptr(BufTables, t.HStart), ptr(BufTables, t.HPhase)}}
		}
		ls = append(ls, l)
		src = dst
	}
	return ls
}
