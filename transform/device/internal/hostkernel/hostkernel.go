package hostkernel

/*
#cgo CXXFLAGS: -std=c++17 -O2
#include <stdlib.h>
#include "kernels.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/pictorhq/pictor/transform/internal/resample"
)

// Run executes p on src (p.InBytes() samples) and returns the output.
func Run(p *resample.Plan, src []byte) ([]byte, error) {
	out := make([]byte, p.OutBytes())
	if err := RunInto(p, src, out); err != nil {
		return nil, err
	}
	return out, nil
}

// RunInto is Run writing into dst, which must be p.OutBytes() long.
func RunInto(p *resample.Plan, src, dst []byte) error {
	if len(src) != p.InBytes() || len(dst) != p.OutBytes() {
		return fmt.Errorf("hostkernel: %d bytes in and %d out for a plan of %d and %d",
			len(src), len(dst), p.InBytes(), p.OutBytes())
	}
	t := p.Tables()
	// Scratch and tables in C memory: the kernels keep no pointer past a
	// call, but C memory keeps the large scratch buffers off the Go heap.
	// The tables are read as int and short, aligned as malloc aligns.
	scratch := max(p.ScratchBytes(), 8)
	mem := C.malloc(C.size_t(2*scratch + len(t.Blob)))
	if mem == nil {
		return fmt.Errorf("hostkernel: out of memory")
	}
	defer C.free(mem)
	tables := unsafe.Add(mem, 2*scratch)
	copy(unsafe.Slice((*byte)(tables), len(t.Blob)), t.Blob)

	// Go slices' memory is passed to C for the duration of each call only.
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(unsafe.SliceData(src))
	pin.Pin(unsafe.SliceData(dst))
	addr := map[resample.Buffer]unsafe.Pointer{
		resample.BufIn:     unsafe.Pointer(unsafe.SliceData(src)),
		resample.BufOut:    unsafe.Pointer(unsafe.SliceData(dst)),
		resample.BufA:      mem,
		resample.BufB:      unsafe.Add(mem, scratch),
		resample.BufTables: tables,
	}
	for _, l := range p.Launches(t) {
		if err := launch(l, addr); err != nil {
			return err
		}
	}
	return nil
}

// launch calls one kernel with its arguments resolved to host addresses.
func launch(l resample.Launch, addr map[resample.Buffer]unsafe.Pointer) error {
	a := make([]unsafe.Pointer, len(l.Args))
	v := make([]int64, len(l.Args))
	for i, arg := range l.Args {
		if arg.Pointer {
			a[i] = unsafe.Add(addr[arg.Buf], arg.Offset)
		}
		v[i] = arg.Value
	}
	p := func(i int) unsafe.Pointer { return a[i] }
	n := func(i int) C.int { return C.int(v[i]) }
	switch l.Kernel {
	case "pictor_premultiply":
		C.pictor_premultiply((*C.u8)(p(0)), (*C.u8)(p(1)), C.longlong(v[2]), n(3))
	case "pictor_unpremultiply":
		C.pictor_unpremultiply((*C.u8)(p(0)), (*C.u8)(p(1)), C.longlong(v[2]), n(3))
	case "pictor_shrinkv":
		C.pictor_shrinkv((*C.u8)(p(0)), (*C.u8)(p(1)), n(2), n(3), n(4), n(5))
	case "pictor_shrinkh":
		C.pictor_shrinkh((*C.u8)(p(0)), (*C.u8)(p(1)), n(2), n(3), n(4), n(5), n(6))
	case "pictor_reducev":
		C.pictor_reducev((*C.u8)(p(0)), (*C.u8)(p(1)), n(2), n(3), n(4), n(5),
			(*C.short)(p(6)), (*C.int)(p(7)), (*C.int)(p(8)))
	case "pictor_reduceh":
		C.pictor_reduceh((*C.u8)(p(0)), (*C.u8)(p(1)), n(2), n(3), n(4), n(5), n(6),
			(*C.int)(p(7)), (*C.int)(p(8)), (*C.int)(p(9)))
	default:
		return fmt.Errorf("hostkernel: no kernel %q", l.Kernel)
	}
	return nil
}
