package cache

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/pictorhq/pictor/internal/keys"
	"github.com/pictorhq/pictor/transform/format"
)

// On disk, each variant is one file whose bytes are exactly the variant,
// so that Nginx can send it with sendfile, and whose name carries
// everything else:
//
//	<Dir>/<orig[0:2]>/<orig>/<vkey>.<sha256 hex of the bytes>.<w>x<h>.<size>.<ext>
//
// Grouping by original makes Purge one directory removal; the two-character
// shard keeps any one directory small. The digest in the name lets every
// read be checked without a sidecar record, and the size lets the start-up
// scan charge each file against the budget from the directory listing
// alone. Files are written under diskTmpDir and renamed into place, so a
// name in a group directory always refers to a complete write.
const (
	// diskBlock is what a file is charged at least, and the unit its size
	// is rounded up to: the usual block size of ext4 and XFS, so that a
	// budget of small thumbnails bounds the space they really occupy, as
	// Nginx's proxy_cache max_size does. Directories are not charged.
	diskBlock = 4096

	// diskTmpDir holds files being written. At start-up an existing one is
	// renamed to diskStalePrefix+<time> (one rename, however many files a
	// crash left) and the scan removes it. The names are distinctive so
	// that a misconfigured Dir cannot make the tier move someone's "tmp".
	diskTmpDir      = ".pictor-tmp"
	diskStalePrefix = ".pictor-tmp-"

	diskDirMode = 0o755
	// diskFileMode lets Nginx, usually another user, read the files.
	diskFileMode = 0o644

	// maxDiskEntry bounds the size a file name may claim, so that a bogus
	// name cannot make Get allocate without limit. Variants are far
	// smaller: 50 MP at 4 bytes a pixel is 200 MB.
	maxDiskEntry = 1 << 30
	// maxDiskDim bounds a width or height in a file name: nine digits.
	maxDiskDim = 999_999_999
)

// diskFormat returns the format whose content type is contentType. A
// variant of another type is declined.
func diskFormat(contentType string) (format.Format, bool) {
	for _, f := range format.All {
		if f.ContentType() == contentType {
			return f, true
		}
	}
	return format.Unknown, false
}

// diskItem is the index entry for one file: everything its name says, so
// that Locate answers without touching the disk.
type diskItem struct {
	orig     string
	sum      [sha256.Size]byte
	size     int64
	w, h     int32
	format   format.Format // names the extension and the content type
	verified atomic.Bool
}

// newDiskItem builds the index entry for e, or reports that the tier
// cannot store it.
func newDiskItem(orig, vkey string, e *Entry) (*diskItem, bool) {
	if !keys.Valid(orig) || !keys.ValidVariant(vkey) ||
		e.Width < 0 || e.Width > maxDiskDim || e.Height < 0 || e.Height > maxDiskDim ||
		len(e.Body) > maxDiskEntry {
		return nil, false
	}
	it := &diskItem{orig: strings.Clone(orig), size: int64(len(e.Body)), w: int32(e.Width), h: int32(e.Height)}
	f, ok := diskFormat(e.ContentType)
	if !ok {
		return nil, false
	}
	it.format = f
	// The digest is already in the entry; hash only if it is malformed.
	const prefix, suffix = "sha-256=:", ":"
	var sum [sha256.Size + 1]byte // DecodedLen of 44 characters is 33
	dg, decoded := e.Digest, false
	if len(dg) == len(prefix)+44+len(suffix) && strings.HasPrefix(dg, prefix) && strings.HasSuffix(dg, suffix) {
		n, err := base64.StdEncoding.Decode(sum[:], []byte(dg[len(prefix):len(dg)-len(suffix)]))
		decoded = err == nil && n == sha256.Size
	}
	if decoded {
		copy(it.sum[:], sum[:sha256.Size])
	} else {
		it.sum = sha256.Sum256(e.Body)
	}
	return it, true
}

// charge is what the entry costs against the budget: its size rounded up
// to whole blocks, at least one.
func (it *diskItem) charge() int64 {
	return max(diskBlock, (it.size+diskBlock-1)/diskBlock*diskBlock)
}

// sameFile reports whether it and o name the same file.
func (it *diskItem) sameFile(o *diskItem) bool {
	return it.orig == o.orig && it.sum == o.sum && it.size == o.size &&
		it.w == o.w && it.h == o.h && it.format == o.format
}

// appendRel appends the file's path relative to Dir.
func (it *diskItem) appendRel(b []byte, vkey string) []byte {
	b = append(b, it.orig[:2]...)
	b = append(b, '/')
	b = append(b, it.orig...)
	b = append(b, '/')
	return it.appendName(b, vkey)
}

// appendName appends the file's name:
// <vkey>.<sha256 hex>.<w>x<h>.<size>.<ext>.
func (it *diskItem) appendName(b []byte, vkey string) []byte {
	b = append(b, vkey...)
	b = append(b, '.')
	b = hex.AppendEncode(b, it.sum[:])
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(it.w), 10)
	b = append(b, 'x')
	b = strconv.AppendInt(b, int64(it.h), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, it.size, 10)
	b = append(b, '.')
	return append(b, it.format.Ext()...)
}

// parseDiskName parses a file name made by appendName. It accepts only
// the exact form appendName writes, so that one entry has one name.
func parseDiskName(name string) (it *diskItem, vkey string, ok bool) {
	vkey, rest, _ := strings.Cut(name, ".")
	sumHex, rest, _ := strings.Cut(rest, ".")
	dims, rest, _ := strings.Cut(rest, ".")
	size, ext, _ := strings.Cut(rest, ".")
	ws, hs, _ := strings.Cut(dims, "x")
	if !keys.ValidVariant(vkey) || len(sumHex) != 2*sha256.Size || !keys.IsLowerHex(sumHex) {
		return nil, "", false
	}
	it = &diskItem{}
	for i := range it.sum {
		it.sum[i] = unhex(sumHex[2*i])<<4 | unhex(sumHex[2*i+1])
	}
	w, okW := parseCanonical(ws, maxDiskDim)
	h, okH := parseCanonical(hs, maxDiskDim)
	n, okN := parseCanonical(size, maxDiskEntry)
	if !okW || !okH || !okN {
		return nil, "", false
	}
	it.w, it.h, it.size = int32(w), int32(h), n
	if it.format, ok = format.FromExt(ext); !ok {
		return nil, "", false
	}
	return it, vkey, true
}

// parseCanonical parses a decimal number in [0, limit] written without a
// sign or leading zeros.
func parseCanonical(s string, limit int64) (int64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n int64
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= limit
}

// isShard reports whether name is a shard directory's: two lowercase hex
// digits, the first two of the original keys in it.
func isShard(name string) bool {
	return len(name) == 2 && keys.IsLowerHex(name)
}

// unhex decodes a digit that keys.IsLowerHex accepted.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}
