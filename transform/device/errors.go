package device

import (
	"errors"
	"fmt"
)

var (
	// ErrNoDevice: no usable GPU (no driver library, no device, or the
	// device did not initialise). Open returns it, wrapped, with
	// ModeRequire.
	ErrNoDevice = errors.New("device: no GPU found")
	// ErrDead: a device error has taken the device out of service. Jobs
	// run on the CPU; Ready returns it with ModeRequire.
	ErrDead = errors.New("device: GPU out of service after an error")
	// ErrClosed: the queue has been closed.
	ErrClosed = errors.New("device: queue closed")
)

// CUDAError is a failed CUDA driver call.
type CUDAError struct {
	Call string // the driver function, e.g. "cuMemAlloc_v2"
	Code int    // the CUresult
	Name string // cuGetErrorName's text, e.g. "CUDA_ERROR_OUT_OF_MEMORY"
}

func (e *CUDAError) Error() string {
	return fmt.Sprintf("device: %s: %s (%d)", e.Call, e.Name, e.Code)
}
