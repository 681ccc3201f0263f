package app

import (
	"log/slog"

	"github.com/pictorhq/pictor/cache"
	"github.com/pictorhq/pictor/server"
	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/device"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/vips"
	"github.com/pictorhq/pictor/transform/workers"
)

// Config is every package's settings, one section each; New hands each
// section to its package, whose constructor validates it.
type Config struct {
	Server    server.Config
	Store     store.Config
	Transform transform.Config
	Options   options.Config
	Sign      sign.Config
	Workers   workers.Config
	Memory    cache.MemoryConfig
	Decoded   cache.DecodedConfig
	Tiered    cache.TieredConfig
	// Disk is the disk tier; MaxBytes 0 leaves it out.
	Disk   cache.DiskConfig
	Device device.Config
	Vips   vips.Config
	// S3 is the bucket of originals with Store.Backend "s3"; its Timeout
	// is set to Server.Timeout by New.
	S3 store.S3Config

	// Logger receives the request log and start-up messages; nil discards.
	Logger *slog.Logger
	// Version is logged at start-up.
	Version string
}

// DefaultConfig returns every package's defaults.
func DefaultConfig() Config {
	return Config{
		Server:    server.DefaultConfig(),
		Store:     store.DefaultConfig(),
		Transform: transform.DefaultConfig(),
		Options:   options.DefaultConfig(),
		Sign:      sign.DefaultConfig(),
		Workers:   workers.DefaultConfig(),
		Memory:    cache.DefaultMemoryConfig(),
		Decoded:   cache.DefaultDecodedConfig(),
		Tiered:    cache.DefaultTieredConfig(),
		Disk:      cache.DefaultDiskConfig(),
		Device:    device.DefaultConfig(),
		Vips:      vips.DefaultConfig(),
		S3:        store.DefaultS3Config(),
		Version:   "dev",
	}
}
