// Package hostkernel runs the CUDA resize kernels
// (transform/device/kernels/resize.cu) compiled as C++ on the host, through
// a one-line shim. It executes a plan's launches exactly as the CUDA
// backend does, with the same table block and buffer rotation, so CI checks
// the kernels' arithmetic and the launch sequence without a GPU; the tests
// compare it with the Go reference and with libvips.
//
// It is also a device stream for the queue's tests (Stream): a real
// implementation of the kernels behind the same interface as the GPU.
package hostkernel
