// Package heictest makes real HEIC files for tests: it runs Debian's
// heif-enc (package libheif-examples, installed by scripts/deps.sh) on a
// fixture from the repository, and can give the result an irot property,
// which is how an iPhone records a photo's rotation. Nothing here is linked
// into pictor; only tests import it.
package heictest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Encode runs heif-enc on src (a JPEG or PNG in the repository) and returns
// the HEIC bytes. Its JPEG reader copies the stored pixels and the EXIF
// block as they are: a JPEG with EXIF orientation 6 becomes a HEIC whose
// EXIF says 6 but which has no irot, so it shows as stored.
func Encode(tb testing.TB, src string, quality int) []byte {
	tb.Helper()
	bin, err := exec.LookPath("heif-enc")
	if err != nil {
		tb.Fatalf("heif-enc not found (scripts/deps.sh installs Debian's libheif-examples): %v", err)
	}
	dst := filepath.Join(tb.TempDir(), "out.heic")
	out, err := exec.Command(bin, "-q", fmt.Sprint(quality), "-o", dst, src).CombinedOutput()
	if err != nil {
		tb.Fatalf("heif-enc %s: %v\n%s", src, err, out)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// EncodeBytes is Encode for a JPEG or PNG in memory.
func EncodeBytes(tb testing.TB, img []byte, quality int) []byte {
	tb.Helper()
	// heif-enc chooses its reader by the file name.
	name := filepath.Join(tb.TempDir(), "in.jpg")
	if len(img) > 4 && string(img[1:4]) == "PNG" {
		name = filepath.Join(filepath.Dir(name), "in.png")
	}
	if err := os.WriteFile(name, img, 0o644); err != nil {
		tb.Fatal(err)
	}
	return Encode(tb, name, quality)
}

// SpliceEXIF returns jpeg with the EXIF block (the APP1 "Exif" segment) of
// from inserted after its start-of-image marker: a small test JPEG that
// carries a camera's orientation tag.
func SpliceEXIF(jpeg, from []byte) ([]byte, error) {
	if len(jpeg) < 2 || len(from) < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8 || from[0] != 0xFF || from[1] != 0xD8 {
		return nil, errors.New("heictest: not a JPEG")
	}
	// Segments after SOI are FF <marker> <16-bit length including itself>.
	for off := 2; off+4 <= len(from) && from[off] == 0xFF; {
		marker, n := from[off+1], int(binary.BigEndian.Uint16(from[off+2:]))
		end := off + 2 + n
		if end > len(from) || marker == 0xDA { // start of scan: no more headers
			break
		}
		if marker == 0xE1 && n >= 8 && string(from[off+4:off+8]) == "Exif" {
			out := append([]byte{0xFF, 0xD8}, from[off:end]...)
			return append(out, jpeg[2:]...), nil
		}
		off = end
	}
	return nil, errors.New("heictest: no EXIF segment")
}

// box is one ISO-BMFF box: either opaque bytes or, for the containers
// Rotate walks into, its children.
type box struct {
	typ      string
	full     []byte // version and flags of a full box, nil otherwise
	payload  []byte // for a leaf
	children []*box // for a container
}

// containers are the boxes Rotate descends into, and whether each is a
// full box (meta carries a version and flags before its children).
var containers = map[string]bool{"meta": true, "iprp": false, "ipco": false}

func parseBoxes(b []byte) ([]*box, error) {
	var out []*box
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, errors.New("heictest: truncated box header")
		}
		size := int(binary.BigEndian.Uint32(b))
		if size < 8 || size > len(b) {
			return nil, fmt.Errorf("heictest: box %q of size %d in %d bytes", b[4:8], size, len(b))
		}
		bx := &box{typ: string(b[4:8])}
		body := b[8:size]
		if full, ok := containers[bx.typ]; ok {
			if full {
				bx.full, body = body[:4], body[4:]
			}
			kids, err := parseBoxes(body)
			if err != nil {
				return nil, err
			}
			bx.children = kids
		} else {
			bx.payload = body
		}
		out = append(out, bx)
		b = b[size:]
	}
	return out, nil
}

func (bx *box) size() int {
	n := 8 + len(bx.full) + len(bx.payload)
	for _, c := range bx.children {
		n += c.size()
	}
	return n
}

func (bx *box) append(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(bx.size()))
	b = append(b, bx.typ...)
	b = append(b, bx.full...)
	b = append(b, bx.payload...)
	for _, c := range bx.children {
		b = c.append(b)
	}
	return b
}

func child(parent *box, typ string) *box {
	for _, c := range parent.children {
		if c.typ == typ {
			return c
		}
	}
	return nil
}

// Rotate returns heic with an irot property on its primary item: the image
// is to be shown turned anticlockwise by quarter turns (1..3), which
// libheif applies when decoding. A file from an iPhone held upright has
// irot 3 and, repeating it for EXIF readers, EXIF orientation 6.
//
// It appends the property to ipco, associates it (as essential, which
// transformative properties must be) with the primary item in ipma, and
// moves every file offset in iloc that points past the grown meta box.
func Rotate(heic []byte, quarterTurns int) ([]byte, error) {
	if quarterTurns < 1 || quarterTurns > 3 {
		return nil, fmt.Errorf("heictest: %d quarter turns, want 1..3", quarterTurns)
	}
	// The boxes alias their input, and iloc is patched in place.
	heic = append([]byte(nil), heic...)
	top, err := parseBoxes(heic)
	if err != nil {
		return nil, err
	}
	var meta *box
	metaEnd := 0
	for _, bx := range top {
		metaEnd += bx.size()
		if bx.typ == "meta" {
			meta = bx
			break
		}
	}
	if meta == nil {
		return nil, errors.New("heictest: no meta box")
	}
	pitm, iloc, iprp := child(meta, "pitm"), child(meta, "iloc"), child(meta, "iprp")
	if pitm == nil || iloc == nil || iprp == nil || child(iprp, "ipco") == nil || child(iprp, "ipma") == nil {
		return nil, errors.New("heictest: meta lacks pitm, iloc, iprp, ipco or ipma")
	}
	ipco, ipma := child(iprp, "ipco"), child(iprp, "ipma")
	primary := primaryItem(pitm.payload)

	oldSize := meta.size()
	ipco.children = append(ipco.children, &box{typ: "irot", payload: []byte{byte(quarterTurns)}})
	if ipma.payload, err = associate(ipma.payload, primary, len(ipco.children)); err != nil {
		return nil, err
	}
	if err := shiftOffsets(iloc.payload, metaEnd, meta.size()-oldSize); err != nil {
		return nil, err
	}
	var out []byte
	for _, bx := range top {
		out = bx.append(out)
	}
	return append(out, heic[metaEnd:]...), nil
}

// primaryItem reads pitm: version and flags, then a 16-bit item ID
// (version 0) or a 32-bit one.
func primaryItem(p []byte) uint32 {
	if p[0] == 0 {
		return uint32(binary.BigEndian.Uint16(p[4:]))
	}
	return binary.BigEndian.Uint32(p[4:])
}

// associate adds property index prop, essential, to item's entry in an
// ipma payload.
func associate(p []byte, item uint32, prop int) ([]byte, error) {
	version, flags := p[0], p[3]
	wide := flags&1 != 0 // 15-bit property indices
	if !wide && prop > 127 {
		return nil, errors.New("heictest: property index does not fit in 7 bits")
	}
	n := binary.BigEndian.Uint32(p[4:])
	off := 8
	for range n {
		var id uint32
		if version < 1 {
			id, off = uint32(binary.BigEndian.Uint16(p[off:])), off+2
		} else {
			id, off = binary.BigEndian.Uint32(p[off:]), off+4
		}
		count := int(p[off])
		width := 1
		if wide {
			width = 2
		}
		end := off + 1 + count*width
		if id == item {
			assoc := []byte{0x80 | byte(prop)}
			if wide {
				assoc = []byte{0x80 | byte(prop>>8), byte(prop)}
			}
			out := append([]byte(nil), p[:end]...)
			out[off]++
			out = append(out, assoc...)
			return append(out, p[end:]...), nil
		}
		off = end
	}
	return nil, fmt.Errorf("heictest: item %d has no ipma entry", item)
}

// shiftOffsets adds delta to every file offset (construction method 0) at
// or past from in an iloc payload, in place.
func shiftOffsets(p []byte, from, delta int) error {
	version := p[0]
	offSize, lenSize := int(p[4]>>4), int(p[4]&15)
	baseSize, indexSize := int(p[5]>>4), 0
	if version == 1 || version == 2 {
		indexSize = int(p[5] & 15)
	}
	off := 6
	var count int
	if version < 2 {
		count, off = int(binary.BigEndian.Uint16(p[off:])), off+2
	} else {
		count, off = int(binary.BigEndian.Uint32(p[off:])), off+4
	}
	for range count {
		if version < 2 {
			off += 2
		} else {
			off += 4
		}
		method := 0
		if version == 1 || version == 2 {
			method, off = int(binary.BigEndian.Uint16(p[off:])&15), off+2
		}
		off += 2 // data reference index
		base := off
		off += baseSize
		extents := int(binary.BigEndian.Uint16(p[off:]))
		off += 2
		shiftedBase := false
		if method == 0 && baseSize > 0 && readUint(p[base:], baseSize) >= uint64(from) {
			writeUint(p[base:], baseSize, readUint(p[base:], baseSize)+uint64(delta))
			shiftedBase = true
		}
		for range extents {
			off += indexSize
			if method == 0 && !shiftedBase && offSize > 0 && readUint(p[off:], offSize) >= uint64(from) {
				writeUint(p[off:], offSize, readUint(p[off:], offSize)+uint64(delta))
			}
			off += offSize + lenSize
		}
		if off > len(p) {
			return errors.New("heictest: iloc runs past its box")
		}
	}
	return nil
}

func readUint(b []byte, n int) uint64 {
	var v uint64
	for i := range n {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func writeUint(b []byte, n int, v uint64) {
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}
