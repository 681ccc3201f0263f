package vips

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// TestPNGChunkLengths pins what FuzzProbe found: a PNG whose tEXt, zTXt or
// iTXt chunk claims far more bytes than the file holds made the header
// read take about that much memory (41 bytes claiming 808 MB: 800 MB of
// RSS and 2 s). Such a file is refused from its chunk list, cheaply, and a
// PNG with a text chunk that is really there still probes.
func TestPNGChunkLengths(t *testing.T) {
	ihdr := pngChunk("IHDR", []byte{0, 0, 0, 32, 0, 0, 0, 32, 4, 0, 0, 0, 0})
	head := append([]byte("\x89PNG\r\n\x1a\n"), ihdr...)
	claim := func(n uint32, typ string) []byte {
		return append(binary.BigEndian.AppendUint32(append([]byte(nil), head...), n), typ...)
	}
	small, err := os.ReadFile(filepath.Join(corpus, "pngsuite", "basn2c08.png"))
	if err != nil {
		t.Fatal(err)
	}
	idat := 33 // after the signature and IHDR
	withText := append(append(append([]byte(nil), small[:idat]...), pngChunk("tEXt", []byte("Comment\x00a real text chunk"))...), small[idat:]...)

	tests := []struct {
		name string
		buf  []byte
		ok   bool
	}{
		{"tEXt claiming 808 MB", claim(0x30303030, "tEXt"), false},
		{"zTXt claiming 2 GiB", claim(0x7fffffff, "zTXt"), false},
		{"iTXt claiming 256 MiB", claim(256<<20, "iTXt"), false},
		{"chunk one byte past the end", append(claim(4, "tEXt"), "abc"...), false},
		{"real tEXt before IDAT", withText, true},
		{"PngSuite basn2c08", small, true},
		// Cut inside the pixels: the header is whole, so it probes, and the
		// decode is what fails.
		{"cut inside IDAT", small[:len(small)-40], true},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		path := filepath.Join(dir, "in.png")
		if err := os.WriteFile(path, tt.buf, 0o600); err != nil {
			t.Fatal(err)
		}
		measured := resetPeakRSS()
		base := peakRSS(t)
		h, err := Probe(tt.buf)
		if grew := peakRSS(t) - base; measured && grew > probeRSSLimit {
			t.Errorf("%s: Probe raised peak RSS by %d MiB", tt.name, grew>>20)
		}
		hf, ferr := ProbeFile(path)
		if (err == nil) != tt.ok || (ferr == nil) != tt.ok {
			t.Errorf("%s: Probe = %v, ProbeFile = %v, want ok %v", tt.name, err, ferr, tt.ok)
			continue
		}
		if tt.ok && (h.Width != 32 || h.Height != 32 || h.Format != format.PNG || !equalHeader(h, hf)) {
			t.Errorf("%s: Probe = %+v, ProbeFile = %+v, want a 32×32 PNG", tt.name, h, hf)
		}
	}
}
