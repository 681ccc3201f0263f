package store

import "errors"

// Config holds the settings of an FS.
type Config struct {
	// Dir is the data directory (PICTOR_DATA_DIR). Originals live under
	// Dir/originals and uploads in progress under Dir/tmp; it is created
	// with mode 0755 when missing. Default "./data".
	Dir string
}

// DefaultConfig returns the defaults listed on Config.
func DefaultConfig() Config {
	return Config{Dir: "./data"}
}

var errNoDir = errors.New("store: Config.Dir is empty")

// Validate reports whether c can be used to open an FS.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errNoDir
	}
	return nil
}
