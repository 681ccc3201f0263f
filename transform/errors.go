package transform

import (
	"errors"
	"fmt"
)

var (
	// ErrTooManyPixels: the source is over the pixel limit, judged from its
	// header before any pixel is decoded.
	ErrTooManyPixels = errors.New("transform: source over the pixel limit")
	// ErrTooManyFrames: an animation has more frames than the limit, judged
	// from its header before any frame is decoded.
	ErrTooManyFrames = errors.New("transform: animation over the frame limit")
	// ErrPage: pg_ names a frame the image does not have.
	ErrPage = errors.New("transform: frame outside the image")
	// ErrOutputTooLarge: the requested output is over the dimension or pixel
	// limit.
	ErrOutputTooLarge = errors.New("transform: requested output over the size limit")
	// ErrRegion: a c_crop region lies outside the image.
	ErrRegion = errors.New("transform: crop region outside the image")
	// ErrFormatMismatch: an upload's bytes say one format and its decoder
	// another (a polyglot or a damaged file).
	ErrFormatMismatch = errors.New("transform: content does not match its format")
)

// DecodeError means the source bytes do not decode as an image.
type DecodeError struct{ Err error }

func (e *DecodeError) Error() string {
	return fmt.Sprintf("transform: image does not decode: %v", e.Err)
}
func (e *DecodeError) Unwrap() error { return e.Err }
