package vips

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

// webpChunks lists a WebP file's chunk types in order, and the VP8X flags
// (0 when there is no VP8X).
func webpChunks(t *testing.T, b []byte) (types []string, flags byte) {
	t.Helper()
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		t.Fatalf("not a WebP file: % x", b[:min(len(b), 12)])
	}
	if size := binary.LittleEndian.Uint32(b[4:]); int(size) != len(b)-8 {
		t.Fatalf("RIFF size %d, want %d", size, len(b)-8)
	}
	for i := 12; i < len(b); {
		if len(b)-i < 8 {
			t.Fatalf("trailing %d bytes after the chunks", len(b)-i)
		}
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		typ := string(b[i : i+4])
		types = append(types, typ)
		if typ == "VP8X" {
			flags = b[i+8]
		}
		i += 8 + n + n&1
		if i > len(b) {
			t.Fatalf("chunk %q runs past the end", typ)
		}
	}
	return types, flags
}

// Every WebP Save writes holds no metadata chunk, whatever the source
// carried: libvips 8.14.1 adds an EXIF chunk of its own (see stripWebP).
func TestSaveWebPHasNoMetadata(t *testing.T) {
	for _, src := range []struct {
		name string
		buf  []byte
	}{
		{"exif JPEG", exifJPEG(t)},
		{"Landscape_6.jpg", readCorpus(t, "exif-orientation/Landscape_6.jpg")},
		{"RGBA PNG", readCorpus(t, "pngsuite/basn6a16.png")},
		{"grey PNG", readCorpus(t, "pngsuite/basn0g08.png")},
	} {
		im := mustLoad(t, src.buf, LoadOptions{})
		out := mustSave(t, im, SaveOptions{Format: format.WebP})
		im.Close()
		types, flags := webpChunks(t, out)
		for _, typ := range types {
			if typ == "EXIF" || typ == "XMP " || typ == "ICCP" {
				t.Errorf("Save(%s as WebP) has chunks %q, want no metadata", src.name, types)
				break
			}
		}
		if flags&(webpFlagICC|webpFlagEXIF|webpFlagXMP) != 0 {
			t.Errorf("Save(%s as WebP): VP8X flags %#x announce metadata", src.name, flags)
		}
		if bytes.Contains(out, []byte("Exif")) {
			t.Errorf("Save(%s as WebP) contains an EXIF header", src.name)
		}
		h, err := Probe(out)
		if err != nil || h.Format != format.WebP {
			t.Errorf("Probe(Save(%s as WebP)) = %v, %v", src.name, h.Format, err)
		}
	}
}

func riff(chunks ...[]byte) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBP")
	for _, c := range chunks {
		b = append(b, c...)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func chunk(typ string, data ...byte) []byte {
	b := append([]byte(typ), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func vp8x(flags byte) []byte {
	return chunk("VP8X", flags, 0, 0, 0, 1, 0, 0, 1, 0, 0) // a 2×2 canvas
}

func TestStripWebP(t *testing.T) {
	image := chunk("VP8L", 0x2F, 1, 0x40, 0, 0x10, 7, 7) // odd length: padded
	alph := chunk("ALPH", 0, 1, 2)
	exif := chunk("EXIF", []byte("Exif\x00\x00MM\x00\x2A")...)
	xmp := chunk("XMP ", []byte("<x:xmpmeta/>")...)
	iccp := chunk("ICCP", 1, 2, 3, 4)
	anim := chunk("ANIM", 0, 0, 0, 0, 0, 0)
	for _, tc := range []struct {
		name    string
		in, out []byte
	}{
		{"simple, no metadata", riff(image), riff(image)},
		{"simple with EXIF", riff(image, exif), riff(image)},
		{"extended, metadata only", riff(vp8x(webpFlagICC|webpFlagEXIF|webpFlagXMP), iccp, image, exif, xmp), riff(image)},
		{"extended with alpha", riff(vp8x(0x10|webpFlagEXIF), alph, image, exif), riff(vp8x(0x10), alph, image)},
		{"animation kept", riff(vp8x(0x02|webpFlagXMP), anim, xmp), riff(vp8x(0x02), anim)},
	} {
		got, err := stripWebP(slices.Clone(tc.in))
		if err != nil || !bytes.Equal(got, tc.out) {
			t.Errorf("stripWebP(%s) = % x, %v\nwant % x", tc.name, got, err, tc.out)
		}
	}
	for _, bad := range [][]byte{
		nil,
		[]byte("RIFF\x04\x00\x00\x00WEBX"),
		riff(image)[:len(riff(image))-3], // the last chunk runs past the end
		append(riff(image), 'E', 'X'),    // a partial chunk header
	} {
		if _, err := stripWebP(bad); err == nil {
			t.Errorf("stripWebP(% x) = nil error, want one", bad)
		}
	}
}
