package store

import (
	"errors"
	"net/url"
	"time"
)

// Config holds the settings of an FS.
type Config struct {
	// Dir is the data directory (PICTOR_DATA_DIR). Originals live under
	// Dir/originals and uploads in progress under Dir/tmp; it is created
	// with mode 0755 when missing. Default "./data".
	Dir string
	// Backend is where originals are kept (PICTOR_STORE): BackendFS, the
	// data directory itself, or BackendS3, a bucket read through a local
	// copy in the data directory (see S3Config). Default "fs".
	Backend string
}

// DefaultConfig returns the defaults listed on Config.
func DefaultConfig() Config {
	return Config{Dir: "./data", Backend: BackendFS}
}

var errNoDir = errors.New("store: Config.Dir is empty")

// Validate reports whether c can be used to open an FS.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errNoDir
	}
	if c.Backend != "" && c.Backend != BackendFS && c.Backend != BackendS3 {
		return errors.New("store: backend must be fs or s3 (PICTOR_STORE)")
	}
	return nil
}

// The backends Config.Backend names.
const (
	BackendFS = "fs"
	BackendS3 = "s3"
)

// S3Config holds the settings of an S3 store. Its local copies live in the
// data directory of Config, laid out as FS lays out originals, so that
// Nginx sends them the same way.
type S3Config struct {
	// Endpoint is the object store's URL (PICTOR_S3_ENDPOINT), e.g.
	// "http://127.0.0.1:9000"; its scheme decides TLS. Required.
	Endpoint string
	// Bucket holds the originals (PICTOR_S3_BUCKET). Required; it must
	// exist.
	Bucket string
	// Prefix is put before every object name (PICTOR_S3_PREFIX), so that
	// several deployments can share a bucket: "img" gives
	// "img/originals/3f/9a/<key>". Default empty.
	Prefix string
	// Region is the bucket's region (PICTOR_S3_REGION). Default
	// "us-east-1".
	Region string
	// AccessKey and SecretKey are static credentials. Left empty (the
	// default, and all main sets) the usual AWS chain is asked:
	// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, then the shared
	// credentials file, then the instance's IAM role.
	AccessKey, SecretKey string
	// CacheBytes bounds the local copies of originals
	// (PICTOR_ORIGINALS_CACHE_BYTES); the least recently used go first.
	// Default 10 GiB.
	CacheBytes int64
	// SyncInterval is how often the bucket's tombstones are listed, so
	// that a DELETE through any sidecar purges every other's local copy
	// and variants (PICTOR_S3_SYNC_INTERVAL). Default 10 s.
	SyncInterval time.Duration
	// Timeout bounds one fetch, put or delete, retries included, so that a
	// store that hangs gives an error rather than a hung request. app sets
	// it to the request deadline (PICTOR_TIMEOUT). Default 10 s.
	Timeout time.Duration
}

// DefaultS3Config returns the defaults listed on S3Config.
func DefaultS3Config() S3Config {
	return S3Config{
		Region:       "us-east-1",
		CacheBytes:   10 << 30,
		SyncInterval: 10 * time.Second,
		Timeout:      10 * time.Second,
	}
}

// Validate reports whether c can be used to open an S3 store.
func (c S3Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, errors.New("store: S3 endpoint is empty (PICTOR_S3_ENDPOINT)"))
	} else if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.User != nil {
		// Credentials in the URL would end up in logs and errors.
		errs = append(errs, errors.New("store: S3 endpoint must be http://host[:port] or https://host[:port], without path or credentials (PICTOR_S3_ENDPOINT)"))
	}
	if c.Bucket == "" {
		errs = append(errs, errors.New("store: S3 bucket is empty (PICTOR_S3_BUCKET)"))
	}
	if c.CacheBytes <= 0 {
		errs = append(errs, errors.New("store: S3 local copy budget must be positive (PICTOR_ORIGINALS_CACHE_BYTES)"))
	}
	if c.SyncInterval <= 0 {
		errs = append(errs, errors.New("store: S3 sync interval must be positive (PICTOR_S3_SYNC_INTERVAL)"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("store: S3 timeout must be positive"))
	}
	return errors.Join(errs...)
}
