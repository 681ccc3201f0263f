// Command pictor is an on-the-fly image transformation server.
//
//	pictor [serve] [flags]     run the server (the default)
//	pictor sign [flags] PATH   print a signed URL path for /t/<options>/<key>
//	pictor version             print versions
//	pictor import [flags] DIR | s3://BUCKET/PREFIX   bring existing images in
//
// Every flag has a PICTOR_* environment variable; `pictor -h` lists them.
// main only turns flags and the environment into an app.Config; package
// app builds and runs the server. The load-test harness is its own command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/internal/logbuf"
	"github.com/pictorhq/pictor/server"
	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/device"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/vips"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// config is the app's configuration and what main itself uses.
type config struct {
	app                 app.Config
	logFormat, logLevel string
}

func settings(c *config) []setting {
	return []setting{
		{"listen", "PICTOR_LISTEN", "127.0.0.1:8081", "public listener: host:port or unix:/path/to.sock", stringVar(&c.app.Server.Listen), nonEmpty(&c.app.Server.Listen)},
		{"admin-listen", "PICTOR_ADMIN_LISTEN", "127.0.0.1:9091", "health, readiness and metrics listener; empty disables it", stringVar(&c.app.Server.AdminListen), nil},
		{"data-dir", "PICTOR_DATA_DIR", "./data", "data directory: originals/ and cache/", dataDirVar(&c.app.Store.Dir, &c.app.Disk.Dir), nonEmpty(&c.app.Store.Dir)},
		{"signing-keys", "PICTOR_SIGNING_KEYS", "", "signing keys kid:secret,kid2:secret2 (the first is the default); empty turns signing off", keysVar(&c.app.Sign.Keys), nil},
		{"signature-length", "PICTOR_SIGNATURE_LENGTH", "16", "characters of s_ (16 = 96 bits)", intVar(&c.app.Sign.Length), within(&c.app.Sign.Length, sign.MinLength, sign.MaxLength)},
		{"upload-tokens", "PICTOR_UPLOAD_TOKENS", "", "comma-separated bearer tokens for upload, delete and info; empty refuses them", listVar(&c.app.Server.UploadTokens), tokensLong(&c.app.Server.UploadTokens)},
		{"accel-redirect", "PICTOR_ACCEL_REDIRECT", "off", "answer originals with X-Accel-Redirect (on behind Nginx)", boolVar(&c.app.Server.AccelRedirect), nil},
		{"accel-prefix", "PICTOR_ACCEL_PREFIX", "/_pictor/", "Nginx internal location aliasing the data directory", stringVar(&c.app.Server.AccelPrefix), accelPrefix(&c.app.Server)},
		{"max-upload-bytes", "PICTOR_MAX_UPLOAD_BYTES", "50MiB", "largest upload", bytesVar(&c.app.Server.MaxUploadBytes), atLeast(&c.app.Server.MaxUploadBytes, 1)},
		{"max-pixels", "PICTOR_MAX_PIXELS", "50MP", "largest source image, width × height, checked from the header", pixelsVar(&c.app.Transform.MaxPixels), atLeast(&c.app.Transform.MaxPixels, 1)},
		{"max-dimension", "PICTOR_MAX_DIMENSION", "8192", "largest w_, h_ and output side in pixels", intVar(&c.app.Options.MaxDimension, &c.app.Transform.MaxDimension), atLeast(&c.app.Options.MaxDimension, 1)},
		{"max-frames", "PICTOR_MAX_FRAMES", "200", "most frames of an animated GIF or WebP, checked from the header (at most 4096)", intVar(&c.app.Transform.MaxFrames), within(&c.app.Transform.MaxFrames, 1, transform.FramesCeiling)},
		{"timeout", "PICTOR_TIMEOUT", "10s", "per-request deadline; past it the answer is 503", durationVar(&c.app.Server.Timeout), positive(&c.app.Server.Timeout)},
		{"drain-timeout", "PICTOR_DRAIN_TIMEOUT", "15s", "graceful drain on SIGTERM; keep it below Supervisor's stopwaitsecs", durationVar(&c.app.Server.DrainTimeout), positive(&c.app.Server.DrainTimeout)},
		{"memory-cache-bytes", "PICTOR_MEMORY_CACHE_BYTES", "512MiB", "memory tier budget for finished variants; 0 disables it", bytesVar(&c.app.Memory.MaxBytes), nil},
		{"decode-cache-bytes", "PICTOR_DECODE_CACHE_BYTES", "64MiB", "decoded originals kept so later variants skip the decode; 0 disables it", bytesVar(&c.app.Decoded.MaxBytes), nil},
		{"disk-cache-bytes", "PICTOR_DISK_CACHE_BYTES", "10GiB", "disk tier budget for finished variants, under <data-dir>/cache; 0 disables it", bytesVar(&c.app.Disk.MaxBytes), nil},
		{"disk-cache-scan-timeout", "PICTOR_DISK_CACHE_SCAN_TIMEOUT", "10s", "how long start-up waits for the disk tier's index scan before finishing it in the background", durationVar(&c.app.Disk.ScanTimeout), atLeast(&c.app.Disk.ScanTimeout, 0)},
		{"gpu", "PICTOR_GPU", "auto", "GPU resize backend: off, auto (use a GPU when one is found) or require", modeVar(&c.app.Device.Mode), oneOf(&c.app.Device.Mode, device.ModeOff, device.ModeAuto, device.ModeRequire)},
		{"gpu-queue", "PICTOR_GPU_QUEUE", "16", "resize jobs on the GPU at once, waiting or running; more go to the CPU", intVar(&c.app.Device.Capacity), atLeast(&c.app.Device.Capacity, 1)},
		{"gpu-streams", "PICTOR_GPU_STREAMS", "2", "CUDA streams, one worker thread each", intVar(&c.app.Device.Streams), within(&c.app.Device.Streams, 1, 64)},
		{"gpu-min-pixels", "PICTOR_GPU_MIN_PIXELS", "1MP", "smallest source (width × height) worth sending to the GPU", pixelsVar(&c.app.Device.MinPixels), nil},
		{"gpu-library", "PICTOR_GPU_LIBRARY", "", "path of libcuda.so.1; empty searches the usual places", stringVar(&c.app.Device.Library), nil},
		{"gpu-device", "PICTOR_GPU_DEVICE", "0", "CUDA device ordinal", intVar(&c.app.Device.Ordinal), atLeast(&c.app.Device.Ordinal, 0)},
		{"workers", "PICTOR_WORKERS", fmt.Sprint(runtime.GOMAXPROCS(0)), "transforms run at once", intVar(&c.app.Workers.Workers), atLeast(&c.app.Workers.Workers, 1)},
		{"memory-budget", "PICTOR_MEMORY_BUDGET", "auto", "what the running transforms' estimated peak memory may add up to (more waits its turn; one over it alone is 422); auto: half the machine's or cgroup's memory; 0: count only", memoryBudgetVar(&c.app.Workers.MemoryBudget), nil},
		{"queue", "PICTOR_QUEUE", fmt.Sprint(16 * runtime.GOMAXPROCS(0)), "transforms that may wait for a worker before 429", intVar(&c.app.Workers.Queue), atLeast(&c.app.Workers.Queue, 0)},
		{"presets", "PICTOR_PRESETS", "", "presets name[+public][+eager][+watermark]:options;… e.g. thumb+public:w_200,h_200,c_fill", presetsVar(&c.app.Options.Presets), nil},
		{"allowed-widths", "PICTOR_ALLOWED_WIDTHS", "", "the only w_ values served, e.g. 320,640,960,1280,1920 (dpr_ multiplies them; presets' own widths are exempt); empty allows 1…max-dimension", dimensionsVar(&c.app.Options.AllowedWidths), nil},
		{"allowed-heights", "PICTOR_ALLOWED_HEIGHTS", "", "the only h_ values served, as allowed-widths; empty allows 1…max-dimension", dimensionsVar(&c.app.Options.AllowedHeights), nil},
		{"presets-only", "PICTOR_PRESETS_ONLY", "off", "serve only t_<preset> URLs (with exp_, kid_, s_); any other option, and /srcset/, is refused with 400", boolVar(&c.app.Options.PresetsOnly), nil},
		{"overlays", "PICTOR_OVERLAYS", "", "overlay names for l_<name>: name:<original key>,… e.g. logo:<key>,badge:<key>", overlaysVar(&c.app.Options.Overlays), nil},
		{"watermark", "PICTOR_WATERMARK", "", "default watermark, one layer as in a URL, e.g. l_logo,lg_south_east,lw_15,lo_60: drawn by wm_1 and presets marked +watermark", stringVar(&c.app.Options.Watermark), nil},
		{"watermark-all", "PICTOR_WATERMARK_ALL", "off", "draw the default watermark on every variant", boolVar(&c.app.Options.WatermarkAll), nil},
		{"jpeg-progressive", "PICTOR_JPEG_PROGRESSIVE", "off", "progressive JPEG output", boolVar(&c.app.Transform.Progressive), nil},
		{"vips-concurrency", "PICTOR_VIPS_CONCURRENCY", "1", "libvips threads per image", intVar(&c.app.Vips.Concurrency), atLeast(&c.app.Vips.Concurrency, 1)},
		{"tus-expiry", "PICTOR_TUS_EXPIRY", "24h", "an unfinished resumable upload (/files/) idle this long is removed", durationVar(&c.app.Server.TusExpiry), positive(&c.app.Server.TusExpiry)},
		{"tus-bytes", "PICTOR_TUS_BYTES", "10GiB", "bytes all unfinished resumable uploads may declare together; past it creation is refused (507)", bytesVar(&c.app.Server.TusBytes), atLeast(&c.app.Server.TusBytes, 1)},
		{"cors-origins", "PICTOR_CORS_ORIGINS", "", "comma-separated browser origins (scheme://host[:port], or *) allowed to use /files/; empty sends no CORS headers", listVar(&c.app.Server.CORSOrigins), corsOrigins(&c.app.Server.CORSOrigins)},
		{"log-format", "PICTOR_LOG_FORMAT", "text", "log format: text or json", stringVar(&c.logFormat), oneOf(&c.logFormat, "text", "json")},
		{"log-level", "PICTOR_LOG_LEVEL", "info", "log level: debug, info, warn, error", stringVar(&c.logLevel), logLevel(&c.logLevel)},
		{"store", "PICTOR_STORE", "fs", "where originals live: fs (the data directory) or s3 (a bucket, read through a local copy in the data directory)", stringVar(&c.app.Store.Backend), oneOf(&c.app.Store.Backend, store.BackendFS, store.BackendS3)},
		{"s3-endpoint", "PICTOR_S3_ENDPOINT", "", "object store URL with PICTOR_STORE=s3, e.g. http://127.0.0.1:9000 (https:// for TLS); credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the rest of the AWS chain", stringVar(&c.app.S3.Endpoint), requiredFor(&c.app.Store.Backend, store.BackendS3, &c.app.S3.Endpoint)},
		{"s3-bucket", "PICTOR_S3_BUCKET", "", "bucket of originals with PICTOR_STORE=s3; it must exist", stringVar(&c.app.S3.Bucket), requiredFor(&c.app.Store.Backend, store.BackendS3, &c.app.S3.Bucket)},
		{"s3-prefix", "PICTOR_S3_PREFIX", "", "object name prefix, so that deployments can share a bucket", stringVar(&c.app.S3.Prefix), nil},
		{"s3-region", "PICTOR_S3_REGION", "us-east-1", "bucket region", stringVar(&c.app.S3.Region), nonEmpty(&c.app.S3.Region)},
		{"s3-sync-interval", "PICTOR_S3_SYNC_INTERVAL", "10s", "how often the bucket's tombstones are read, so that a DELETE through any sidecar purges every other", durationVar(&c.app.S3.SyncInterval), positive(&c.app.S3.SyncInterval)},
		{"originals-cache-bytes", "PICTOR_ORIGINALS_CACHE_BYTES", "10GiB", "budget for local copies of originals fetched from the bucket (PICTOR_STORE=s3)", bytesVar(&c.app.S3.CacheBytes), atLeast(&c.app.S3.CacheBytes, 1)},
		{"auto-width-step", "PICTOR_AUTO_WIDTH_STEP", "100", "w_auto rounds a hinted width up to a multiple of this many pixels (to the next allowed width when allowed-widths is set)", intVar(&c.app.Transform.AutoWidthStep), atLeast(&c.app.Transform.AutoWidthStep, 1)},
		{"accept-ch", "PICTOR_ACCEPT_CH", "off", "send Accept-CH: Sec-CH-Width, Sec-CH-DPR, Sec-CH-Viewport-Width, ECT with variants (the page's own response is where browsers take it from)", boolVar(&c.app.Server.AcceptCH), nil},
		{"public-url", "PICTOR_PUBLIC_URL", "", "the origin clients reach Nginx at (scheme://host[:port]); the playground's copied URLs start with it", stringVar(&c.app.Server.PublicURL), nil},
	}
}

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args)
	case "sign":
		err = signCmd(args, os.Stdout)
	case "version":
		err = versionCmd(os.Stdout)
	case "import":
		err = importCmd(args, os.Stderr)
	default:
		err = fmt.Errorf("unknown command %q (want serve, sign, version or import)", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pictor:", err)
		os.Exit(1)
	}
}

// load parses flags over the environment into a config, then checks each
// setting, so that an error names the PICTOR_* variable to fix.
func load(name string, args []string, out io.Writer) (*config, *flag.FlagSet, error) {
	return loadWith(name, args, out, nil)
}

// loadWith is load for a command with flags of its own, which extra binds.
func loadWith(name string, args []string, out io.Writer, extra func(*flag.FlagSet)) (*config, *flag.FlagSet, error) {
	c := &config{app: app.DefaultConfig()}
	c.app.Version = version
	fs := flag.NewFlagSet("pictor "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	ss := settings(c)
	if err := bind(fs, ss); err != nil {
		return nil, nil, err
	}
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if err := check(ss); err != nil {
		return nil, nil, err
	}
	return c, fs, nil
}

// newLogger logs to stderr through a buffer flushed every 100 ms (see
// internal/logbuf: one write per batch, not per request line); close
// writes what is left and must run before the process exits.
func newLogger(c *config) (log *slog.Logger, closeLog func() error, err error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, nil, fmt.Errorf("PICTOR_LOG_LEVEL: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h func(io.Writer, *slog.HandlerOptions) slog.Handler
	switch c.logFormat {
	case "text":
		h = func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) }
	case "json":
		h = func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) }
	default:
		return nil, nil, fmt.Errorf("PICTOR_LOG_FORMAT=%q: want text or json", c.logFormat)
	}
	out := logbuf.New(os.Stderr, 64<<10, 100*time.Millisecond)
	return slog.New(h(out, opts)), out.Close, nil
}

// serve runs the server until SIGTERM or SIGINT, then drains.
func serve(args []string) error {
	c, _, err := load("serve", args, os.Stderr)
	if err != nil {
		return err
	}
	log, closeLog, err := newLogger(c)
	if err != nil {
		return err
	}
	defer closeLog()
	// libvips prints a GLib warning for every damaged file it meets; each
	// such request already gets its own log line with a 422, so the
	// warnings are kept only at debug level. libvips reads this at start-up.
	if _, set := os.LookupEnv("VIPS_WARNING"); !set && c.logLevel != "debug" {
		os.Setenv("VIPS_WARNING", "0")
	}
	c.app.Logger = log
	a, err := app.New(c.app)
	if err != nil {
		return err
	}
	defer a.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return a.Run(ctx)
}

// signCmd prints a signed path for /t/<options>/<key> or
// /srcset/[<options>/]<key>[?w=…].
func signCmd(args []string, out io.Writer) error {
	c, fs, err := load("sign", args, os.Stderr)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: pictor sign [flags] /t/<options>/<key> | /srcset/[<options>/]<key>[?w=320,640,…]  (add exp_<unix> or kid_<id> to the options as needed)")
	}
	signer, err := sign.New(c.app.Sign)
	if err != nil {
		return err
	}
	if !signer.Enabled() {
		return errors.New("no signing keys: set PICTOR_SIGNING_KEYS or -signing-keys")
	}
	parser, err := options.NewParser(c.app.Options)
	if err != nil {
		return err
	}
	path := fs.Arg(0)
	var signed string
	if rest, ok := strings.CutPrefix(path, "/srcset/"); ok {
		signed, err = signSrcset(rest, signer, parser)
	} else if rest, ok := strings.CutPrefix(path, "/t/"); ok {
		signed, err = signVariant(rest, signer, parser)
	} else {
		err = errNotSignable
	}
	if errors.Is(err, sign.ErrMalformedPath) || errors.Is(err, errNotSignable) {
		return fmt.Errorf("%q is not /t/<options>/<key> or /srcset/[<options>/]<key>[?w=…] with a valid key", path)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, signed)
	return nil
}

var errNotSignable = errors.New("not a /t/ or /srcset/ path")

// signVariant signs <options>/<key>, the rest of a /t/ path.
func signVariant(rest string, signer *sign.Signer, parser *options.Parser) (string, error) {
	p, err := sign.ParsePath(parser, rest)
	if err != nil {
		return "", err
	}
	return signer.VariantPath(parser, p.Raw, p.Options, p.Key)
}

// signSrcset signs [<options>/]<key>[?w=…], the rest of a /srcset/ path:
// the width list is part of what is signed.
func signSrcset(rest string, signer *sign.Signer, parser *options.Parser) (string, error) {
	rest, query, _ := strings.Cut(rest, "?")
	var p sign.Path
	var err error
	switch {
	case strings.Contains(rest, "/"):
		p, err = sign.ParsePath(parser, rest)
	case store.ValidKey(rest): // no options
		p.Key = rest
	default:
		err = sign.ErrMalformedPath
	}
	if err != nil {
		return "", err
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", err
	}
	_, widths, err := server.SrcsetWidths(q.Get("w"), parser)
	if err != nil {
		return "", err
	}
	return signer.SrcsetPath(p.Options, p.Key, widths)
}

func versionCmd(out io.Writer) error {
	if err := vips.Startup(vips.DefaultConfig()); err != nil {
		return err
	}
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(out, "pictor %s\nlibvips %s\n%s %s/%s\n", version, vips.Version(), goVersion, runtime.GOOS, runtime.GOARCH)
	return nil
}
