package vips

import "encoding/binary"

// VP8X feature flags for the metadata chunks (WebP container
// specification, "Extended File Format").
const (
	webpFlagICC  = 0x20
	webpFlagEXIF = 0x08
	webpFlagXMP  = 0x04
)

// stripWebP removes the ICCP, EXIF and XMP chunks from a WebP file and
// clears their flags in VP8X; a VP8X left with no flag at all is dropped
// too, giving the simple format the encoder would have written without
// metadata. It works in place and returns b shortened.
//
// libvips 8.14.1's webpsave muxes in an EXIF chunk even with "strip" set
// and every metadata field removed from the image (see pictor_strip): it
// builds a fresh EXIF block from the header (resolution, orientation,
// pixel dimensions) and writes it regardless. No payload of the original
// survives into it, but every variant is promised free of EXIF
// (docs/options.md), so the chunk goes here, after the encoder.
func stripWebP(b []byte) ([]byte, error) {
	bad := &Error{Op: "webpsave", Msg: "malformed WebP container from the encoder"}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil, bad
	}
	out := b[:12]
	vp8x := -1 // offset of the VP8X chunk in out
	for i := 12; i < len(b); {
		if len(b)-i < 8 {
			return nil, bad
		}
		n := binary.LittleEndian.Uint32(b[i+4:])
		if uint64(n) > uint64(len(b)-i-8) {
			return nil, bad
		}
		end := i + 8 + int(n)
		if n%2 == 1 && end < len(b) { // chunks are padded to an even size
			end++
		}
		switch typ := string(b[i : i+4]); typ {
		case "ICCP", "EXIF", "XMP ":
		default:
			if typ == "VP8X" && n >= 1 {
				vp8x = len(out)
			}
			// out never runs ahead of i, and append moves overlapping
			// bytes correctly.
			out = append(out, b[i:end]...)
		}
		i = end
	}
	if vp8x >= 0 {
		out[vp8x+8] &^= webpFlagICC | webpFlagEXIF | webpFlagXMP
		if out[vp8x+8] == 0 {
			size := 8 + int(binary.LittleEndian.Uint32(out[vp8x+4:]))
			size += size & 1
			out = append(out[:vp8x], out[vp8x+size:]...)
		}
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, nil
}
