package cache

import (
	"errors"
	"time"
)

// DiskConfig holds the settings of the disk tier.
type DiskConfig struct {
	// Dir is the directory that holds the tier's files; it is created if
	// missing and must be used by one process at a time. Nginx's internal
	// location for X-Accel-Redirect points at it. Default "data/cache"
	// (PICTOR_DATA_DIR/cache).
	Dir string

	// MaxBytes is the byte budget of the tier (PICTOR_DISK_CACHE_BYTES):
	// the sum over files of their size rounded up to a 4 KiB block, which
	// is what they occupy on a typical file system. 0 disables the tier:
	// Get misses, Set declines, and Dir is not touched. Default 10 GiB.
	MaxBytes int64

	// ScanTimeout bounds how long NewDisk spends rebuilding the index from
	// the files already in Dir. The scan reads directories only, never a
	// file: about 6 µs per entry with the metadata cached (BenchmarkDiskScan:
	// 50,000 entries in 0.3 s on 2 shared cores), more when cold. Past the
	// bound NewDisk returns and the scan goes on in the background, where
	// entries not yet reached miss until it gets to them (see Disk). 0
	// scans entirely in the background. Default 10 s.
	ScanTimeout time.Duration

	// FullCooldown is how long writes stop after the file system reports
	// that it is full (ENOSPC or EDQUOT): Set declines without trying, so
	// that a full disk costs nothing per request. Default 30 s.
	FullCooldown time.Duration
}

// DefaultDiskConfig returns the defaults listed on DiskConfig.
func DefaultDiskConfig() DiskConfig {
	return DiskConfig{
		Dir:          "data/cache",
		MaxBytes:     10 << 30,
		ScanTimeout:  10 * time.Second,
		FullCooldown: 30 * time.Second,
	}
}

var (
	errDiskNegativeBudget = errors.New("cache: DiskConfig.MaxBytes is negative")
	errDiskNoDir          = errors.New("cache: DiskConfig.Dir is empty")
	errDiskScanTimeout    = errors.New("cache: DiskConfig.ScanTimeout is negative")
	errDiskFullCooldown   = errors.New("cache: DiskConfig.FullCooldown is not positive")
)

// Validate reports whether c can be used by NewDisk. A disabled tier
// (MaxBytes 0) needs no directory.
func (c DiskConfig) Validate() error {
	switch {
	case c.MaxBytes < 0:
		return errDiskNegativeBudget
	case c.MaxBytes == 0:
		return nil
	case c.Dir == "":
		return errDiskNoDir
	case c.ScanTimeout < 0:
		return errDiskScanTimeout
	case c.FullCooldown <= 0:
		return errDiskFullCooldown
	}
	return nil
}
