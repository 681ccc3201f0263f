package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/sync/singleflight"
)

// S3 keeps originals in an S3-compatible bucket and reads them through a
// bounded local copy in the data directory. It is safe for concurrent use.
//
// Uploads stream into a local temporary file as with FS; Commit puts the
// checked file under its content key in the bucket (unless the bucket
// already holds those bytes) and then links it into the local copies.
// Reads look for the local copy first and only on a miss fetch the object,
// once however many requests miss at the same time, hashing it while it
// streams to a temporary file and naming it only when its SHA-256 matches
// the key. Decode therefore always maps a complete, verified local file.
type S3 struct {
	cfg    S3Config
	local  *FS
	copies *copies
	client *minio.Client
	creds  *credentials.Credentials
	prefix string // "" or ending in "/"
	log    *slog.Logger

	fetching singleflight.Group
	fetches  atomic.Int64 // objects fetched from the bucket
	fetched  atomic.Int64 // bytes fetched
	purged   atomic.Int64 // keys purged by tombstones

	syncMu    sync.Mutex // one sync at a time
	seen      map[string]time.Time
	syncOnce  sync.Once
	closeOnce sync.Once
	stop      chan struct{}
	stopped   chan struct{}
}

// Object names under the prefix: originals as FS lays them out, and one
// empty object per deleted original, which every sidecar's sync loop
// looks for.
const tombstoneDir = "tombstones/"

// Retries of idempotent reads (GET, HEAD, LIST): the first retry after
// about retryBase, doubling, with jitter, all within S3Config.Timeout.
// Writes are never retried: a put or delete that may have happened is
// reported, and the client decides.
const (
	readAttempts = 3
	retryBase    = 100 * time.Millisecond
)

// dialTimeout bounds connecting to the object store: a host that does not
// answer must fail fast enough to retry inside the request deadline.
const dialTimeout = 2 * time.Second

// OpenS3 opens the S3 store: the local copies under cfg.Dir (created and
// swept as Open does for FS) and the bucket at s3.Endpoint. An unreachable
// store does not stop it opening, so that local copies keep being served;
// Ready reports the problem. A bucket that answers that it does not exist
// does.
func OpenS3(cfg Config, s3 S3Config, log *slog.Logger) (*S3, error) {
	if err := s3.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	local, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	client, creds, err := s3.client()
	if err != nil {
		local.Close()
		return nil, err
	}
	prefix := strings.Trim(s3.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	s := &S3{
		cfg: s3, local: local, copies: newCopies(local, s3.CacheBytes), client: client, creds: creds,
		prefix: prefix, log: log, seen: map[string]time.Time{},
		stop: make(chan struct{}), stopped: make(chan struct{}),
	}
	if err := s.copies.scan(); err != nil {
		local.Close()
		return nil, fmt.Errorf("store: scanning local copies: %w", err)
	}
	if err := s.checkBucket(); err != nil {
		if !errors.Is(err, ErrUnavailable) || isNoSuchBucket(err) {
			local.Close()
			return nil, err
		}
		log.Warn("object store unreachable at start; serving local copies", "endpoint", s3.Endpoint, "bucket", s3.Bucket, "err", err)
	}
	return s, nil
}

// client builds the minio client for c's endpoint and credentials.
func (c S3Config) client() (*minio.Client, *credentials.Credentials, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("store: S3 endpoint: %w", err)
	}
	var creds *credentials.Credentials
	if c.AccessKey != "" {
		creds = credentials.NewStaticV4(c.AccessKey, c.SecretKey, "")
	} else {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.IAM{Client: &http.Client{Transport: http.DefaultTransport}},
		})
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = c.Timeout
	tr.MaxIdleConnsPerHost = 64
	client, err := minio.New(u.Host, &minio.Options{
		Creds: creds, Secure: u.Scheme == "https", Region: c.Region, Transport: tr,
		MaxRetries: 1, // reads retry in S3.retry, with our backoff and deadline; writes never
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: S3 client: %w", err)
	}
	return client, creds, nil
}

// Client is a minio client for c's endpoint and credentials, for reading
// another bucket of the same object store (pictor import s3://…), and a
// function that removes the credentials from an error's text.
func (c S3Config) Client() (*minio.Client, func(error) string, error) {
	client, creds, err := c.client()
	if err != nil {
		return nil, nil, err
	}
	return client, func(err error) string { return redact(creds, err.Error()) }, nil
}

// checkBucket asks whether the bucket exists, briefly.
func (s *S3) checkBucket() error {
	ctx, cancel := context.WithTimeout(context.Background(), min(s.cfg.Timeout, 2*time.Second))
	defer cancel()
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return s.remote("head bucket", err)
	}
	if !ok {
		return s.remote("head bucket", minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: http.StatusNotFound,
			Message: "bucket " + s.cfg.Bucket + " does not exist", BucketName: s.cfg.Bucket})
	}
	return nil
}

// Close stops the sync loop and releases the local store. Safe to call
// twice.
func (s *S3) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		s.syncOnce.Do(func() { close(s.stopped) }) // no loop was started
		<-s.stopped
		err = s.local.Close()
	})
	return err
}

// Local is the file store of the local copies.
func (s *S3) Local() *FS { return s.local }

// object is key's object name.
func (s *S3) object(key string) string { return s.prefix + relPath(key) }

func (s *S3) tombstone(key string) string { return s.prefix + tombstoneDir + key }

// Open opens key's local copy, fetching it first when there is none.
func (s *S3) Open(key string) (*os.File, error) {
	if !ValidKey(key) {
		return nil, ErrInvalidKey
	}
	// Twice at most: a copy evicted between the fetch and the open is
	// fetched once more rather than reported missing.
	for range 2 {
		f, err := s.local.Open(key)
		if err == nil {
			if st, err := f.Stat(); err == nil {
				s.copies.touch(key, st.Size())
			}
			return f, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err := s.fetch(key); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: local copy evicted as soon as fetched (PICTOR_ORIGINALS_CACHE_BYTES too small?)", ErrUnavailable)
}

// Map maps key's local copy, fetching it first when there is none.
func (s *S3) Map(key string) (*Mapping, error) {
	f, err := s.Open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return mapFile(f)
}

// ReadFile returns the whole original for key.
func (s *S3) ReadFile(key string) ([]byte, error) {
	f, err := s.Open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Stat returns the size and modification time of key's local copy,
// fetching it first: every caller reads the original next or has Nginx
// send the local file (X-Accel-Redirect), which must then exist.
func (s *S3) Stat(key string) (int64, time.Time, error) {
	f, err := s.Open(key)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, time.Time{}, err
	}
	return st.Size(), st.ModTime(), nil
}

// RelPath is the local copy's path relative to the data directory; see
// FS.RelPath.
func (s *S3) RelPath(key string) (string, error) { return s.local.RelPath(key) }

// Exists asks the bucket whether it holds key's original.
func (s *S3) Exists(key string) (bool, error) {
	if !ValidKey(key) {
		return false, ErrInvalidKey
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	return s.exists(ctx, key)
}

func (s *S3) exists(ctx context.Context, key string) (bool, error) {
	err := s.retry(ctx, func() error {
		_, err := s.client.StatObject(ctx, s.cfg.Bucket, s.object(key), minio.StatObjectOptions{})
		return s.remote("head", err)
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// Ready reports whether the local copies can be written and the bucket
// answers.
func (s *S3) Ready() error {
	if err := s.local.Writable(); err != nil {
		return err
	}
	return s.checkBucket()
}

// fetch makes a verified local copy of key's object: once for any number
// of concurrent callers. It runs on a context of its own, bounded by
// S3Config.Timeout, so that one caller giving up does not fail the others.
func (s *S3) fetch(key string) error {
	_, err, _ := s.fetching.Do(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
		defer cancel()
		return nil, s.retry(ctx, func() error { return s.fetchOnce(ctx, key) })
	})
	return err
}

func (s *S3) fetchOnce(ctx context.Context, key string) error {
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return s.remote("get", err)
	}
	defer obj.Close()
	up, err := s.local.newUpload(0, nil)
	if err != nil {
		return err
	}
	defer up.Abort()
	// Errors of the object's reader are the store's; Write's are the local
	// file system's (ErrReadOnly, ErrNoSpace) and are not retried.
	buf := copyBufs.Get().(*[32 << 10]byte)
	defer copyBufs.Put(buf)
	for {
		n, rerr := obj.Read(buf[:])
		if n > 0 {
			if _, err := up.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return s.remote("get", rerr)
		}
	}
	size := up.Size()
	if _, err := up.commitAs(key); err != nil {
		return err
	}
	s.fetches.Add(1)
	s.fetched.Add(size)
	s.copies.touch(key, size)
	return nil
}

// NewUpload starts an upload into a local temporary file; Commit puts it
// in the bucket.
func (s *S3) NewUpload(maxBytes int64) (*Upload, error) {
	return s.local.newUpload(maxBytes, s.put)
}

// put is the S3 placer: the checked temporary file goes into the bucket
// under key, unless the bucket has those bytes already, and then becomes
// the local copy. S3 makes an object visible only once a PUT completes,
// so no partial object is ever seen under a key; a failed PUT leaves
// nothing, and the temporary file is removed by Commit. If-None-Match: *
// makes exactly one of several sidecars putting the same bytes at once
// report Created (a store that ignores the header overwrites the same
// bytes instead, and only the flag is off).
func (s *S3) put(tmp, key string) (created bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	have, err := s.exists(ctx, key)
	if err != nil {
		return false, err
	}
	if !have {
		f, err := s.local.root.Open(tmp)
		if err != nil {
			return false, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return false, err
		}
		opts := minio.PutObjectOptions{ContentType: contentType(key), DisableMultipart: st.Size() <= maxSinglePut}
		opts.SetMatchETagExcept("*")
		_, err = s.client.PutObject(ctx, s.cfg.Bucket, s.object(key), f, st.Size(), opts)
		switch {
		case err == nil:
			created = true
		case minio.ToErrorResponse(err).StatusCode == http.StatusPreconditionFailed:
			// Another sidecar put the same bytes first.
		default:
			return false, s.remote("put", err)
		}
	}
	// A tombstone left by an earlier delete of these bytes would purge
	// them from every sidecar again at its next start; it goes, best
	// effort, now that the object is back.
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.tombstone(key), minio.RemoveObjectOptions{}); err != nil {
		s.log.Warn("removing tombstone after upload", "key", key, "err", s.remote("delete tombstone", err))
	}
	if _, err := s.local.place(tmp, key); err == nil {
		if size, _, err := s.local.Stat(key); err == nil {
			s.copies.touch(key, size)
		}
	}
	return created, nil
}

// maxSinglePut is the largest object S3 takes in one PUT; larger ones go
// in parts, which S3 also makes visible only when complete.
const maxSinglePut = 5 << 30

// Delete writes key's tombstone, then removes the object and the local
// copy. In that order, a delete that fails halfway leaves a tombstone over
// a live object, which a retried DELETE completes, never a removed object
// that other sidecars keep serving unseen.
func (s *S3) Delete(key string) error {
	if !ValidKey(key) {
		return ErrInvalidKey
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	have, err := s.exists(ctx, key)
	if err != nil {
		return err
	}
	if !have {
		s.copies.remove(key) // a copy whose object is gone is stale anyway
		return ErrNotFound
	}
	_, err = s.client.PutObject(ctx, s.cfg.Bucket, s.tombstone(key), strings.NewReader(""), 0,
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true})
	if err != nil {
		return s.remote("put tombstone", err)
	}
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.object(key), minio.RemoveObjectOptions{}); err != nil {
		return s.remote("delete", err)
	}
	s.copies.remove(key)
	return nil
}

// retry runs op until it succeeds, fails for good, readAttempts have been
// made, or ctx ends. Only idempotent reads go through it.
func (s *S3) retry(ctx context.Context, op func() error) error {
	var err error
	for attempt := range readAttempts {
		if err = op(); err == nil || !retryable(err) {
			return err
		}
		if attempt == readAttempts-1 {
			break
		}
		wait := retryBase<<attempt + rand.N(retryBase)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
	return err
}

// retryable reports whether a read may succeed if tried again: the store
// was unreachable, timed out, answered 5xx or asked us to slow down, or a
// fetched copy did not match its key (a torn transfer).
func retryable(err error) bool {
	if errors.Is(err, ErrCorrupt) {
		return true
	}
	var re *remoteError
	return errors.As(err, &re) && re.transient
}

// remoteError is an error of the object store, its text scrubbed of
// credentials.
type remoteError struct {
	op        string
	msg       string
	code      string
	transient bool
}

func (e *remoteError) Error() string { return "store: object store: " + e.op + ": " + e.msg }

func (e *remoteError) Unwrap() error { return ErrUnavailable }

// remote maps an error of the minio client: nil stays nil, a missing key
// is ErrNotFound, and everything else a *remoteError (so ErrUnavailable)
// whose text has any credential replaced.
func (s *S3) remote(op string, err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || (resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket"):
		return ErrNotFound
	}
	transient := resp.StatusCode == 0 || resp.StatusCode >= 500 ||
		resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout ||
		resp.Code == "SlowDown" || resp.Code == "RequestTimeout"
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		transient = false // the deadline is spent: no time for another try
	}
	return &remoteError{op: op, msg: s.redact(err.Error()), code: resp.Code, transient: transient}
}

func isNoSuchBucket(err error) bool {
	var re *remoteError
	return errors.As(err, &re) && re.code == "NoSuchBucket"
}

// redact replaces the credentials in msg. No error the client makes is
// known to carry them, but a message from a proxy or a future client
// version could, and errors reach logs and /readyz.
func (s *S3) redact(msg string) string { return redact(s.creds, msg) }

func redact(creds *credentials.Credentials, msg string) string {
	v, err := creds.GetWithContext(nil)
	if err != nil {
		return msg
	}
	for _, secret := range []string{v.SecretAccessKey, v.SessionToken, v.AccessKeyID} {
		if len(secret) >= 4 {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	return msg
}

// contentType is the Content-Type an object is put with, from its key's
// extension.
func contentType(key string) string {
	switch key[strings.LastIndexByte(key, '.')+1:] {
	case "jpg":
		return "image/jpeg"
	case "png":
		return "image/png"
	case "webp":
		return "image/webp"
	case "gif":
		return "image/gif"
	case "avif":
		return "image/avif"
	}
	return "application/octet-stream"
}

// Fetches is how many originals were fetched from the bucket.
func (s *S3) Fetches() int64 { return s.fetches.Load() }
