package cache

import "errors"

// MemoryConfig holds the settings of the memory tier.
type MemoryConfig struct {
	// MaxBytes is the byte budget of the tier (PICTOR_MEMORY_CACHE_BYTES):
	// the sum over entries of their body's capacity plus a fixed per-entry
	// overhead. 0 disables the tier: Get always misses and Set drops.
	// Default 512 MiB.
	MaxBytes int64
}

// DefaultMemoryConfig returns the defaults listed on MemoryConfig.
func DefaultMemoryConfig() MemoryConfig {
	return MemoryConfig{MaxBytes: 512 << 20}
}

var errNegativeBudget = errors.New("cache: MemoryConfig.MaxBytes is negative")

// Validate reports whether c can be used by NewMemory.
func (c MemoryConfig) Validate() error {
	if c.MaxBytes < 0 {
		return errNegativeBudget
	}
	return nil
}
