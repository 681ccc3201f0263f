package device

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/pictorhq/pictor/transform/device/kernels"
	"github.com/pictorhq/pictor/transform/internal/resample"
)

// cudaLibraries is where OpenCUDA looks for the driver when
// Config.Library is empty: the soname (the loader's path, where distro
// packages put it), then the directories NVIDIA's container runtime and
// the CUDA installer use.
var cudaLibraries = []string{
	"libcuda.so.1",
	"/usr/local/nvidia/lib64/libcuda.so.1",
	"/usr/local/cuda/lib64/libcuda.so.1",
}

// driver is the CUDA driver API, bound at run time with purego: nothing at
// build time needs CUDA. CUresult is an int32; handles are pointers.
type driver struct {
	cuInit                     func(flags uint32) int32
	cuDriverGetVersion         func(v *int32) int32
	cuDeviceGetCount           func(n *int32) int32
	cuDeviceGet                func(dev *int32, ordinal int32) int32
	cuDeviceGetName            func(name *byte, n int32, dev int32) int32
	cuDeviceGetAttribute       func(v *int32, attr int32, dev int32) int32
	cuDevicePrimaryCtxRetain   func(ctx *uintptr, dev int32) int32
	cuDevicePrimaryCtxSetFlags func(dev int32, flags uint32) int32
	cuDevicePrimaryCtxRelease  func(dev int32) int32
	cuCtxSetCurrent            func(ctx uintptr) int32
	cuModuleLoadData           func(mod *uintptr, image unsafe.Pointer) int32
	cuModuleGetFunction        func(fn *uintptr, mod uintptr, name string) int32
	cuModuleUnload             func(mod uintptr) int32
	cuMemAlloc                 func(p *uint64, size uint64) int32
	cuMemFree                  func(p uint64) int32
	cuMemHostAlloc             func(p *unsafe.Pointer, size uint64, flags uint32) int32
	cuMemFreeHost              func(p unsafe.Pointer) int32
	cuMemcpyHtoDAsync          func(dst uint64, src unsafe.Pointer, size uint64, stream uintptr) int32
	cuMemcpyDtoHAsync          func(dst unsafe.Pointer, src uint64, size uint64, stream uintptr) int32
	cuStreamCreate             func(s *uintptr, flags uint32) int32
	cuStreamSynchronize        func(s uintptr) int32
	cuStreamDestroy            func(s uintptr) int32
	cuEventCreate              func(e *uintptr, flags uint32) int32
	cuEventRecord              func(e uintptr, s uintptr) int32
	cuEventElapsedTime         func(ms *float32, start, end uintptr) int32
	cuEventDestroy             func(e uintptr) int32
	cuGetErrorName             func(code int32, name *unsafe.Pointer) int32
	cuLaunchKernel             func(fn uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params, extra unsafe.Pointer) int32
}

// symbols maps each driver field to its versioned symbol.
func (d *driver) symbols() map[string]any {
	return map[string]any{
		"cuInit":                        &d.cuInit,
		"cuDriverGetVersion":            &d.cuDriverGetVersion,
		"cuDeviceGetCount":              &d.cuDeviceGetCount,
		"cuDeviceGet":                   &d.cuDeviceGet,
		"cuDeviceGetName":               &d.cuDeviceGetName,
		"cuDeviceGetAttribute":          &d.cuDeviceGetAttribute,
		"cuDevicePrimaryCtxRetain":      &d.cuDevicePrimaryCtxRetain,
		"cuDevicePrimaryCtxSetFlags_v2": &d.cuDevicePrimaryCtxSetFlags,
		"cuDevicePrimaryCtxRelease_v2":  &d.cuDevicePrimaryCtxRelease,
		"cuCtxSetCurrent":               &d.cuCtxSetCurrent,
		"cuModuleLoadData":              &d.cuModuleLoadData,
		"cuModuleGetFunction":           &d.cuModuleGetFunction,
		"cuModuleUnload":                &d.cuModuleUnload,
		"cuMemAlloc_v2":                 &d.cuMemAlloc,
		"cuMemFree_v2":                  &d.cuMemFree,
		"cuMemHostAlloc":                &d.cuMemHostAlloc,
		"cuMemFreeHost":                 &d.cuMemFreeHost,
		"cuMemcpyHtoDAsync_v2":          &d.cuMemcpyHtoDAsync,
		"cuMemcpyDtoHAsync_v2":          &d.cuMemcpyDtoHAsync,
		"cuStreamCreate":                &d.cuStreamCreate,
		"cuStreamSynchronize":           &d.cuStreamSynchronize,
		"cuStreamDestroy_v2":            &d.cuStreamDestroy,
		"cuEventCreate":                 &d.cuEventCreate,
		"cuEventRecord":                 &d.cuEventRecord,
		"cuEventElapsedTime":            &d.cuEventElapsedTime,
		"cuEventDestroy_v2":             &d.cuEventDestroy,
		"cuGetErrorName":                &d.cuGetErrorName,
		"cuLaunchKernel":                &d.cuLaunchKernel,
	}
}

// check turns a CUresult into an error.
func (d *driver) check(call string, code int32) error {
	if code == 0 {
		return nil
	}
	name := "CUDA_ERROR_UNKNOWN"
	var p unsafe.Pointer
	if d.cuGetErrorName != nil && d.cuGetErrorName(code, &p) == 0 && p != nil {
		name = cString(p)
	}
	return &CUDAError{Call: call, Code: int(code), Name: name}
}

// cString copies a NUL-terminated C string (at most 256 bytes).
func cString(p unsafe.Pointer) string {
	b := unsafe.Slice((*byte)(p), 256)
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// loadDriver dlopens the driver and binds every function, or says why not.
func loadDriver(path string) (*driver, error) {
	paths := cudaLibraries
	if path != "" {
		paths = []string{path}
	}
	var lib uintptr
	var first error
	for _, p := range paths {
		h, err := purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			lib = h
			break
		}
		if first == nil {
			first = err
		}
	}
	if lib == 0 {
		return nil, fmt.Errorf("%w: libcuda.so.1 not loaded (tried %s): %w", ErrNoDevice, strings.Join(paths, ", "), first)
	}
	d := &driver{}
	for name, fn := range d.symbols() {
		sym, err := purego.Dlsym(lib, name)
		if err != nil {
			return nil, fmt.Errorf("%w: libcuda.so.1 lacks %s", ErrNoDevice, name)
		}
		purego.RegisterFunc(fn, sym)
	}
	return d, nil
}

// CUDA attributes and flags used here (cuda.h).
const (
	attrComputeCapabilityMajor = 75
	attrComputeCapabilityMinor = 76
	ctxSchedBlockingSync       = 0x4 // a waiting stream sleeps instead of spinning a core
	hostAllocPortable          = 0x1
	streamNonBlocking          = 0x1
	eventDefault               = 0x0
)

// CUDA is an NVIDIA GPU driven through the CUDA driver API, with the
// resize kernels loaded from embedded PTX.
type CUDA struct {
	d       *driver
	dev     int32
	ctx     uintptr
	mod     uintptr
	fns     map[string]uintptr
	streams int
	name    string
	version int32
	cc      [2]int32
	mu      sync.Mutex
	closed  bool
}

// OpenCUDA finds the GPU of cfg.Ordinal, retains its primary context and
// loads the kernels. Errors wrap ErrNoDevice.
func OpenCUDA(cfg Config) (*CUDA, error) {
	d, err := loadDriver(cfg.Library)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*CUDA, error) { return nil, fmt.Errorf("%w: %w", ErrNoDevice, err) }
	if err := d.check("cuInit", d.cuInit(0)); err != nil {
		return fail(err)
	}
	c := &CUDA{d: d, streams: cfg.Streams, fns: map[string]uintptr{}}
	if err := d.check("cuDriverGetVersion", d.cuDriverGetVersion(&c.version)); err != nil {
		return fail(err)
	}
	var n int32
	if err := d.check("cuDeviceGetCount", d.cuDeviceGetCount(&n)); err != nil {
		return fail(err)
	}
	if int(n) <= cfg.Ordinal {
		return fail(fmt.Errorf("%d CUDA devices, want device %d", n, cfg.Ordinal))
	}
	if err := d.check("cuDeviceGet", d.cuDeviceGet(&c.dev, int32(cfg.Ordinal))); err != nil {
		return fail(err)
	}
	name := make([]byte, 256)
	if err := d.check("cuDeviceGetName", d.cuDeviceGetName(&name[0], int32(len(name)), c.dev)); err != nil {
		return fail(err)
	}
	c.name = cString(unsafe.Pointer(&name[0]))
	_ = d.cuDeviceGetAttribute(&c.cc[0], attrComputeCapabilityMajor, c.dev)
	_ = d.cuDeviceGetAttribute(&c.cc[1], attrComputeCapabilityMinor, c.dev)
	// The flags apply only before the primary context is first made
	// active; an error here (it already is) is harmless.
	_ = d.cuDevicePrimaryCtxSetFlags(c.dev, ctxSchedBlockingSync)
	if err := d.check("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain(&c.ctx, c.dev)); err != nil {
		return fail(err)
	}
	// Loading the module needs the context current on this thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ptx := kernels.PTX()
	err = d.check("cuCtxSetCurrent", d.cuCtxSetCurrent(c.ctx))
	if err == nil {
		err = d.check("cuModuleLoadData", d.cuModuleLoadData(&c.mod, unsafe.Pointer(&ptx[0])))
	}
	runtime.KeepAlive(ptx)
	for _, e := range kernels.Entries {
		if err != nil {
			break
		}
		var fn uintptr
		err = d.check("cuModuleGetFunction", d.cuModuleGetFunction(&fn, c.mod, e))
		c.fns[e] = fn
	}
	if err != nil {
		_ = d.cuDevicePrimaryCtxRelease(c.dev)
		return fail(err)
	}
	return c, nil
}

// Name implements Device.
func (c *CUDA) Name() string { return "cuda" }

// Streams implements Device.
func (c *CUDA) Streams() int { return c.streams }

// Describe is the GPU's name, compute capability and driver version, for
// the start-up log.
func (c *CUDA) Describe() string {
	return fmt.Sprintf("%s (sm_%d%d, driver %d.%d)", c.name, c.cc[0], c.cc[1], c.version/1000, c.version%1000/10)
}

// Close implements Device.
func (c *CUDA) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err := c.d.check("cuCtxSetCurrent", c.d.cuCtxSetCurrent(c.ctx))
	if err == nil {
		err = c.d.check("cuModuleUnload", c.d.cuModuleUnload(c.mod))
	}
	return errors.Join(err, c.d.check("cuDevicePrimaryCtxRelease", c.d.cuDevicePrimaryCtxRelease(c.dev)))
}

// OpenStream implements Device: the calling goroutine has locked its OS
// thread; the context is made current on it for good.
func (c *CUDA) OpenStream(int) (Stream, error) {
	d := c.d
	if err := d.check("cuCtxSetCurrent", d.cuCtxSetCurrent(c.ctx)); err != nil {
		return nil, err
	}
	s := &cudaStream{c: c}
	if err := d.check("cuStreamCreate", d.cuStreamCreate(&s.stream, streamNonBlocking)); err != nil {
		return nil, err
	}
	for i := range s.ev {
		if err := d.check("cuEventCreate", d.cuEventCreate(&s.ev[i], eventDefault)); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	// The launch argument block lives in pinned (C) memory: cuLaunchKernel
	// reads the pointers in it, which must not be Go pointers.
	if err := d.check("cuMemHostAlloc", d.cuMemHostAlloc(&s.params, paramBlock, hostAllocPortable)); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// paramBlock holds up to maxArgs 8-byte argument values followed by as
// many pointers to them.
const (
	maxArgs    = 16
	paramBlock = maxArgs * 16
)

// blockSize is the threads per block of every launch: a multiple of the
// warp size that keeps enough blocks per SM for the memory-bound kernels.
const blockSize = 256

// maxBlocks caps a launch's grid; the kernels' grid-stride loops cover
// the rest.
const maxBlocks = 1 << 20

// tablesAlign keeps the pixels after the tables in the input buffer on a
// 256-byte boundary, cudaMalloc's own alignment.
const tablesAlign = 256

// cudaStream is one CUDA stream with buffers that grow to the largest job
// and are reused.
type cudaStream struct {
	c      *CUDA
	stream uintptr
	ev     [4]uintptr // before H2D, after H2D, after kernels, after D2H
	params unsafe.Pointer

	hostIn, hostOut   unsafe.Pointer // pinned
	hostInN, hostOutN int
	devIn, devOut     uint64 // devIn holds the tables, then the pixels
	devA, devB        uint64
	devInN, devOutN   int
	devScratchN       int
	t                 Timings
}

// grow makes sure a pinned host buffer holds n bytes.
func (s *cudaStream) growHost(p *unsafe.Pointer, have *int, n int) error {
	if *have >= n {
		return nil
	}
	d := s.c.d
	if *p != nil {
		if err := d.check("cuMemFreeHost", d.cuMemFreeHost(*p)); err != nil {
			return err
		}
		*p, *have = nil, 0
	}
	if err := d.check("cuMemHostAlloc", d.cuMemHostAlloc(p, uint64(n), hostAllocPortable)); err != nil {
		return err
	}
	*have = n
	return nil
}

// growDev makes sure the device buffers in ps hold n bytes each.
func (s *cudaStream) growDev(have *int, n int, ps ...*uint64) error {
	if *have >= n {
		return nil
	}
	d := s.c.d
	for _, p := range ps {
		if *p != 0 {
			if err := d.check("cuMemFree_v2", d.cuMemFree(*p)); err != nil {
				return err
			}
			*p = 0
		}
	}
	*have = 0
	for _, p := range ps {
		if err := d.check("cuMemAlloc_v2", d.cuMemAlloc(p, uint64(n))); err != nil {
			return err
		}
	}
	*have = n
	return nil
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// Resize implements Stream: one copy in (tables and pixels), the plan's
// kernels, one copy out, then wait.
func (s *cudaStream) Resize(p *resample.Plan, src []byte) ([]byte, error) {
	d := s.c.d
	t := p.Tables()
	tn := roundUp(len(t.Blob), tablesAlign)
	inN := tn + len(src)
	if err := s.growHost(&s.hostIn, &s.hostInN, inN); err != nil {
		return nil, err
	}
	if err := s.growHost(&s.hostOut, &s.hostOutN, p.OutBytes()); err != nil {
		return nil, err
	}
	if err := s.growDev(&s.devInN, inN, &s.devIn); err != nil {
		return nil, err
	}
	if err := s.growDev(&s.devOutN, p.OutBytes(), &s.devOut); err != nil {
		return nil, err
	}
	if err := s.growDev(&s.devScratchN, max(p.ScratchBytes(), 8), &s.devA, &s.devB); err != nil {
		return nil, err
	}
	in := unsafe.Slice((*byte)(s.hostIn), inN)
	copy(in, t.Blob)
	copy(in[tn:], src)

	addr := map[resample.Buffer]uint64{
		resample.BufTables: s.devIn,
		resample.BufIn:     s.devIn + uint64(tn),
		resample.BufOut:    s.devOut,
		resample.BufA:      s.devA,
		resample.BufB:      s.devB,
	}
	if err := s.calls(
		func() (string, int32) { return "cuEventRecord", d.cuEventRecord(s.ev[0], s.stream) },
		func() (string, int32) {
			return "cuMemcpyHtoDAsync_v2", d.cuMemcpyHtoDAsync(s.devIn, s.hostIn, uint64(inN), s.stream)
		},
		func() (string, int32) { return "cuEventRecord", d.cuEventRecord(s.ev[1], s.stream) },
	); err != nil {
		return nil, err
	}
	for _, l := range p.Launches(t) {
		if err := s.launch(l, addr); err != nil {
			return nil, err
		}
	}
	if err := s.calls(
		func() (string, int32) { return "cuEventRecord", d.cuEventRecord(s.ev[2], s.stream) },
		func() (string, int32) {
			return "cuMemcpyDtoHAsync_v2", d.cuMemcpyDtoHAsync(s.hostOut, s.devOut, uint64(p.OutBytes()), s.stream)
		},
		func() (string, int32) { return "cuEventRecord", d.cuEventRecord(s.ev[3], s.stream) },
		func() (string, int32) { return "cuStreamSynchronize", d.cuStreamSynchronize(s.stream) },
	); err != nil {
		return nil, err
	}
	s.t = Timings{
		HostToDevice: s.elapsed(0, 1),
		Kernels:      s.elapsed(1, 2),
		DeviceToHost: s.elapsed(2, 3),
	}
	return unsafe.Slice((*byte)(s.hostOut), p.OutBytes()), nil
}

// calls makes driver calls in order and stops at the first error.
func (s *cudaStream) calls(fs ...func() (string, int32)) error {
	for _, f := range fs {
		if err := s.c.d.check(f()); err != nil {
			return err
		}
	}
	return nil
}

func (s *cudaStream) elapsed(a, b int) time.Duration {
	var ms float32
	if s.c.d.cuEventElapsedTime(&ms, s.ev[a], s.ev[b]) != 0 {
		return 0
	}
	return time.Duration(float64(ms) * float64(time.Millisecond))
}

// launch writes l's arguments into the pinned parameter block and
// launches the kernel on the stream.
func (s *cudaStream) launch(l resample.Launch, addr map[resample.Buffer]uint64) error {
	if len(l.Args) > maxArgs {
		return fmt.Errorf("device: %s has %d arguments, want <= %d", l.Kernel, len(l.Args), maxArgs)
	}
	fn, ok := s.c.fns[l.Kernel]
	if !ok {
		return fmt.Errorf("device: no kernel %s", l.Kernel)
	}
	vals := unsafe.Slice((*uint64)(s.params), maxArgs)
	ptrs := unsafe.Slice((*unsafe.Pointer)(unsafe.Add(s.params, maxArgs*8)), maxArgs)
	for i, a := range l.Args {
		if a.Pointer {
			vals[i] = addr[a.Buf] + uint64(a.Offset)
		} else {
			vals[i] = uint64(a.Value) // little-endian: an int reads the low 4 bytes
		}
		ptrs[i] = unsafe.Pointer(&vals[i])
	}
	blocks := min(max((l.Items+blockSize-1)/blockSize, 1), maxBlocks)
	return s.c.d.check("cuLaunchKernel", s.c.d.cuLaunchKernel(fn, uint32(blocks), 1, 1, blockSize, 1, 1, 0,
		s.stream, unsafe.Add(s.params, maxArgs*8), nil))
}

// Timings implements Stream.
func (s *cudaStream) Timings() Timings { return s.t }

// Close implements Stream.
func (s *cudaStream) Close() error {
	d := s.c.d
	var errs []error
	for _, p := range []*uint64{&s.devIn, &s.devOut, &s.devA, &s.devB} {
		if *p != 0 {
			errs = append(errs, d.check("cuMemFree_v2", d.cuMemFree(*p)))
			*p = 0
		}
	}
	for _, p := range []*unsafe.Pointer{&s.hostIn, &s.hostOut, &s.params} {
		if *p != nil {
			errs = append(errs, d.check("cuMemFreeHost", d.cuMemFreeHost(*p)))
			*p = nil
		}
	}
	for _, e := range s.ev {
		if e != 0 {
			errs = append(errs, d.check("cuEventDestroy_v2", d.cuEventDestroy(e)))
		}
	}
	if s.stream != 0 {
		errs = append(errs, d.check("cuStreamDestroy_v2", d.cuStreamDestroy(s.stream)))
		s.stream = 0
	}
	return errors.Join(errs...)
}
