package harness

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

// File is one original of the corpus.
type File struct {
	Name   string // base name: what a peer's {file} is
	Path   string
	Format format.Format
	// Width and Height are the size once EXIF orientation is applied,
	// which is what w_ is measured against.
	Width, Height int
	Data          []byte
	// Key is what Pictor names the original: the hex SHA-256 of its bytes
	// and its format's extension.
	Key string
}

// corpusExts are the extensions of the formats Pictor accepts; anything
// else in the corpus directory (SVG, JPEG XL, notes) is left alone.
var corpusExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".webp": true, ".gif": true, ".avif": true}

// LoadCorpus reads the named files of dir, or every image in it when names
// is empty, and probes their size and format. libvips must have been
// started.
func LoadCorpus(dir string, names []string) ([]*File, error) {
	if len(names) == 0 {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("harness: corpus: %w", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && corpusExts[strings.ToLower(filepath.Ext(e.Name()))] {
				names = append(names, e.Name())
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w in %s (scripts/fetch-corpus.sh fills it)", ErrNoCorpus, dir)
	}
	slices.Sort(names)
	var files []*File
	for _, n := range names {
		f, err := loadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func loadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("harness: corpus: %w", err)
	}
	h, err := vips.Probe(data)
	if err != nil {
		return nil, fmt.Errorf("harness: corpus: %s: %w", path, err)
	}
	if _, err := format.Sniff(data); err != nil {
		return nil, fmt.Errorf("harness: corpus: %s: %w", path, err)
	}
	w, ht := h.Width, h.Height
	if h.Orientation >= 5 { // 5–8 swap the axes
		w, ht = ht, w
	}
	sum := sha256.Sum256(data)
	return &File{
		Name: filepath.Base(path), Path: path, Format: h.Format,
		Width: w, Height: ht, Data: data,
		Key: hex.EncodeToString(sum[:]) + "." + h.Format.Ext(),
	}, nil
}

// filterFormats keeps the files whose format is in fs (all when fs is
// empty).
func filterFormats(files []*File, fs []format.Format) []*File {
	if len(fs) == 0 {
		return files
	}
	var out []*File
	for _, f := range files {
		if slices.Contains(fs, f.Format) {
			out = append(out, f)
		}
	}
	return out
}

// canMakeUnique reports whether uniqueBytes can vary f: JPEG and PNG
// (that ends in IEND, as every valid one does), whose containers have a
// place for bytes that change no pixel.
func canMakeUnique(f *File) bool {
	switch f.Format {
	case format.JPEG:
		return len(f.Data) > 4 && f.Data[0] == 0xff && f.Data[1] == 0xd8
	case format.PNG:
		return len(f.Data) > 12 && string(f.Data[len(f.Data)-8:len(f.Data)-4]) == "IEND"
	case format.GIF:
		return len(f.Data) > 6 && string(f.Data[:4]) == "GIF8" && f.Data[len(f.Data)-1] == gifTrailer
	}
	return false
}

// gifTrailer is the byte that ends a GIF (GIF89a specification, 27).
const gifTrailer = 0x3b

// uniqueBytes appends to dst a copy of f's bytes that differs from every
// other n, and decodes to the same pixels: the store is content-addressed,
// so an upload of the same bytes twice stores nothing the second time.
// JPEG: a comment (COM) segment right after the start-of-image marker,
// which decoders skip. PNG: a tEXt chunk before IEND, which decoders skip.
// GIF: a comment extension before the trailer, which decoders skip.
// f must be one canMakeUnique accepts.
func uniqueBytes(dst []byte, f *File, n uint64) []byte {
	var tag [8]byte
	binary.BigEndian.PutUint64(tag[:], n)
	switch f.Format {
	case format.PNG:
		// IEND is the last 12 bytes: length (0), "IEND", CRC.
		body, iend := f.Data[:len(f.Data)-12], f.Data[len(f.Data)-12:]
		dst = append(dst, body...)
		chunk := append([]byte("tEXtbench\x00"), tag[:]...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(chunk)-4))
		dst = append(dst, chunk...)
		dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(chunk))
		return append(dst, iend...)
	case format.GIF:
		// Comment extension: 21 FE, one sub-block of the tag, terminator.
		dst = append(dst, f.Data[:len(f.Data)-1]...)
		dst = append(dst, 0x21, 0xfe, byte(len(tag)))
		dst = append(dst, tag[:]...)
		return append(dst, 0, gifTrailer)
	default:
		// SOI (FF D8), then COM (FF FE) whose length counts itself.
		dst = append(dst, f.Data[:2]...)
		const comment = "bench "
		dst = append(dst, 0xff, 0xfe, 0, byte(2+len(comment)+len(tag)))
		dst = append(append(dst, comment...), tag[:]...)
		return append(dst, f.Data[2:]...)
	}
}

// restamp turns buf, a copy of f that uniqueBytes made, into copy n in
// place: only the tag differs between copies (and, in a PNG, the CRC of the
// chunk that holds it), so a loop over many copies need not write a whole
// file's bytes for each.
func restamp(buf []byte, f *File, n uint64) {
	var at int
	switch f.Format {
	case format.PNG:
		// The tEXt chunk sits where IEND was: length (4), type and keyword
		// ("tEXtbench\x00", 10), the tag, the CRC of type to tag.
		chunk := len(f.Data) - 12 + 4
		at = chunk + 10
		binary.BigEndian.PutUint64(buf[at:], n)
		binary.BigEndian.PutUint32(buf[at+8:], crc32.ChecksumIEEE(buf[chunk:at+8]))
		return
	case format.GIF:
		at = len(f.Data) - 1 + 3 // after the image data: 21 FE, the sub-block's length
	default:
		at = 2 + 4 + len("bench ") // SOI, COM and its length, the comment's text
	}
	binary.BigEndian.PutUint64(buf[at:], n)
}
