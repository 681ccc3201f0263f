// Command pictor is an on-the-fly image transformation server.
//
//	pictor [serve] [flags]     run the server (the default)
//	pictor sign [flags] PATH   print a signed URL path for /t/<options>/<key>
//	pictor version             print versions
//
// Every flag has a PICTOR_* environment variable; `pictor -h` lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/pictorhq/pictor/bench/harness"
	"github.com/pictorhq/pictor/cache"
	"github.com/pictorhq/pictor/internal/logbuf"
	"github.com/pictorhq/pictor/server"
	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/device"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/vips"
	"github.com/pictorhq/pictor/transform/workers"
	"github.com/prometheus/client_golang/prometheus"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// config is everything main wires, with its defaults.
type config struct {
	server    server.Config
	store     store.Config
	transform transform.Config
	options   options.Config
	workers   workers.Config
	memory    cache.MemoryConfig
	decoded   cache.DecodedConfig
	tiered    cache.TieredConfig
	disk      cache.DiskConfig
	device    device.Config
	vips      vips.Config

	signingKeys   string
	sigLength     int
	presets       string
	gpu           string
	logFormat     string
	logLevel      string
	uploadTokens  []string
	accelRedirect bool

	// The variant-explosion guard's allow-lists, parsed into options.
	allowedWidths, allowedHeights string
}

func settings(c *config) []setting {
	return []setting{
		{"listen", "PICTOR_LISTEN", "127.0.0.1:8081", "public listener: host:port or unix:/path/to.sock", stringVar(&c.server.Listen)},
		{"admin-listen", "PICTOR_ADMIN_LISTEN", "127.0.0.1:9091", "health, readiness and metrics listener; empty disables it", stringVar(&c.server.AdminListen)},
		{"data-dir", "PICTOR_DATA_DIR", "./data", "data directory: originals/ and cache/", stringVar(&c.store.Dir)},
		{"signing-keys", "PICTOR_SIGNING_KEYS", "", "signing keys kid:secret,kid2:secret2 (the first is the default); empty turns signing off", stringVar(&c.signingKeys)},
		{"signature-length", "PICTOR_SIGNATURE_LENGTH", "16", "characters of s_ (16 = 96 bits)", intVar(&c.sigLength)},
		{"upload-tokens", "PICTOR_UPLOAD_TOKENS", "", "comma-separated bearer tokens for upload, delete and info; empty refuses them", listVar(&c.uploadTokens)},
		{"accel-redirect", "PICTOR_ACCEL_REDIRECT", "off", "answer originals with X-Accel-Redirect (on behind Nginx)", boolVar(&c.accelRedirect)},
		{"accel-prefix", "PICTOR_ACCEL_PREFIX", "/_pictor/", "Nginx internal location aliasing the data directory", stringVar(&c.server.AccelPrefix)},
		{"max-upload-bytes", "PICTOR_MAX_UPLOAD_BYTES", "50MiB", "largest upload", bytesVar(&c.server.MaxUploadBytes)},
		{"max-pixels", "PICTOR_MAX_PIXELS", "50MP", "largest source image, width × height, checked from the header", pixelsVar(&c.transform.MaxPixels)},
		{"max-dimension", "PICTOR_MAX_DIMENSION", "8192", "largest w_, h_ and output side in pixels", intVar(&c.options.MaxDimension)},
		{"timeout", "PICTOR_TIMEOUT", "10s", "per-request deadline; past it the answer is 503", durationVar(&c.server.Timeout)},
		{"drain-timeout", "PICTOR_DRAIN_TIMEOUT", "15s", "graceful drain on SIGTERM; keep it below Supervisor's stopwaitsecs", durationVar(&c.server.DrainTimeout)},
		{"memory-cache-bytes", "PICTOR_MEMORY_CACHE_BYTES", "512MiB", "memory tier budget for finished variants; 0 disables it", bytesVar(&c.memory.MaxBytes)},
		{"decode-cache-bytes", "PICTOR_DECODE_CACHE_BYTES", "64MiB", "decoded originals kept so later variants skip the decode; 0 disables it", bytesVar(&c.decoded.MaxBytes)},
		{"disk-cache-bytes", "PICTOR_DISK_CACHE_BYTES", "10GiB", "disk tier budget for finished variants, under <data-dir>/cache; 0 disables it", bytesVar(&c.disk.MaxBytes)},
		{"disk-cache-scan-timeout", "PICTOR_DISK_CACHE_SCAN_TIMEOUT", "10s", "how long start-up waits for the disk tier's index scan before finishing it in the background", durationVar(&c.disk.ScanTimeout)},
		{"gpu", "PICTOR_GPU", "auto", "GPU resize backend: off, auto (use a GPU when one is found) or require", stringVar(&c.gpu)},
		{"gpu-queue", "PICTOR_GPU_QUEUE", "16", "resize jobs on the GPU at once, waiting or running; more go to the CPU", intVar(&c.device.Capacity)},
		{"gpu-streams", "PICTOR_GPU_STREAMS", "2", "CUDA streams, one worker thread each", intVar(&c.device.Streams)},
		{"gpu-min-pixels", "PICTOR_GPU_MIN_PIXELS", "1MP", "smallest source (width × height) worth sending to the GPU", pixelsVar(&c.device.MinPixels)},
		{"gpu-library", "PICTOR_GPU_LIBRARY", "", "path of libcuda.so.1; empty searches the usual places", stringVar(&c.device.Library)},
		{"gpu-device", "PICTOR_GPU_DEVICE", "0", "CUDA device ordinal", intVar(&c.device.Ordinal)},
		{"workers", "PICTOR_WORKERS", fmt.Sprint(runtime.GOMAXPROCS(0)), "transforms run at once", intVar(&c.workers.Workers)},
		{"queue", "PICTOR_QUEUE", fmt.Sprint(16 * runtime.GOMAXPROCS(0)), "transforms that may wait for a worker before 429", intVar(&c.workers.Queue)},
		{"presets", "PICTOR_PRESETS", "", "presets name[+public][+eager]:options;… e.g. thumb+public:w_200,h_200,c_fill", stringVar(&c.presets)},
		{"allowed-widths", "PICTOR_ALLOWED_WIDTHS", "", "the only w_ values served, e.g. 320,640,960,1280,1920 (dpr_ multiplies them; presets' own widths are exempt); empty allows 1…max-dimension", stringVar(&c.allowedWidths)},
		{"allowed-heights", "PICTOR_ALLOWED_HEIGHTS", "", "the only h_ values served, as allowed-widths; empty allows 1…max-dimension", stringVar(&c.allowedHeights)},
		{"presets-only", "PICTOR_PRESETS_ONLY", "off", "serve only t_<preset> URLs (with exp_, kid_, s_); any other option, and /srcset/, is refused with 400", boolVar(&c.options.PresetsOnly)},
		{"jpeg-progressive", "PICTOR_JPEG_PROGRESSIVE", "off", "progressive JPEG output", boolVar(&c.transform.Progressive)},
		{"vips-concurrency", "PICTOR_VIPS_CONCURRENCY", "1", "libvips threads per image", intVar(&c.vips.Concurrency)},
		{"log-format", "PICTOR_LOG_FORMAT", "text", "log format: text or json", stringVar(&c.logFormat)},
		{"log-level", "PICTOR_LOG_LEVEL", "info", "log level: debug, info, warn, error", stringVar(&c.logLevel)},
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
	case "bench":
		err = benchCmd(args)
	default:
		err = fmt.Errorf("unknown command %q (want serve, sign, bench or version)", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pictor:", err)
		os.Exit(1)
	}
}

// load parses flags over the environment into a config.
func load(name string, args []string, out io.Writer) (*config, *flag.FlagSet, error) {
	c := &config{
		server:    server.DefaultConfig(),
		store:     store.DefaultConfig(),
		transform: transform.DefaultConfig(),
		options:   options.DefaultConfig(),
		workers:   workers.DefaultConfig(),
		memory:    cache.DefaultMemoryConfig(),
		decoded:   cache.DefaultDecodedConfig(),
		tiered:    cache.DefaultTieredConfig(),
		disk:      cache.DefaultDiskConfig(),
		device:    device.DefaultConfig(),
		vips:      vips.DefaultConfig(),
	}
	fs := flag.NewFlagSet("pictor "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	if err := bind(fs, settings(c)); err != nil {
		return nil, nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	c.server.UploadTokens = c.uploadTokens
	c.server.AccelRedirect = c.accelRedirect
	c.transform.MaxDimension = c.options.MaxDimension
	switch c.gpu {
	case "off", "auto", "require":
		c.device.Mode = device.Mode(c.gpu)
	default:
		return nil, nil, fmt.Errorf("PICTOR_GPU=%q: want off, auto or require", c.gpu)
	}
	c.disk.Dir = filepath.Join(c.store.Dir, "cache")
	var err error
	if c.options.Presets, err = options.ParsePresets(c.presets); err != nil {
		return nil, nil, err
	}
	if c.options.AllowedWidths, err = options.ParseDimensions(c.allowedWidths); err != nil {
		return nil, nil, fmt.Errorf("PICTOR_ALLOWED_WIDTHS: %w", err)
	}
	if c.options.AllowedHeights, err = options.ParseDimensions(c.allowedHeights); err != nil {
		return nil, nil, fmt.Errorf("PICTOR_ALLOWED_HEIGHTS: %w", err)
	}
	return c, fs, nil
}

func (c *config) signer() (*sign.Signer, error) {
	keys, err := sign.ParseKeys(c.signingKeys)
	if err != nil {
		return nil, err
	}
	cfg := sign.DefaultConfig()
	cfg.Keys, cfg.Length = keys, c.sigLength
	return sign.New(cfg)
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
	if err := vips.Startup(c.vips); err != nil {
		return err
	}
	st, err := store.Open(c.store)
	if err != nil {
		return err
	}
	defer st.Close()
	queue, err := device.Open(c.device)
	if err != nil {
		return fmt.Errorf("PICTOR_GPU=%s: %w", c.gpu, err)
	}
	defer queue.Close()
	if err := queue.Err(); err != nil {
		log.Info("resizing on the CPU", "gpu", c.gpu, "reason", err)
	}
	decoded, err := cache.NewDecoded[*transform.Decoded](c.decoded)
	if err != nil {
		return err
	}
	defer decoded.Close()
	proc, err := transform.New(c.transform, transform.Deps{Resizer: queue, Decoded: decoded})
	if err != nil {
		return err
	}
	parser, err := options.NewParser(c.options)
	if err != nil {
		return err
	}
	signer, err := c.signer()
	if err != nil {
		return err
	}
	mem, err := cache.NewMemory(c.memory)
	if err != nil {
		return err
	}
	defer mem.Close()
	var disk *cache.Disk
	var diskTier cache.DiskTier // nil interface when the tier is off
	if c.disk.MaxBytes > 0 {
		if disk, err = cache.NewDisk(c.disk, log); err != nil {
			return err
		}
		defer disk.Close()
		diskTier = disk
	}
	tiered, err := cache.NewTiered(c.tiered, mem, diskTier)
	if err != nil {
		return err
	}
	defer tiered.Close()
	pool, err := workers.New(c.workers)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	srv, err := server.New(c.server, server.Deps{
		Store: st, Processor: proc, Parser: parser, Signer: signer,
		Cache: tiered, Memory: mem, Disk: disk, Decoded: decoded, Device: queue,
		Workers: pool, Logger: log, Registry: reg,
	})
	if err != nil {
		return err
	}

	ln, err := listen(c.server.Listen)
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if c.server.AdminListen != "" {
		aln, err := listen(c.server.AdminListen)
		if err != nil {
			ln.Close()
			return err
		}
		go func() { errc <- srv.ServeAdmin(aln) }()
	}
	log.Info("pictor listening", "listen", c.server.Listen, "admin", c.server.AdminListen,
		"data", c.store.Dir, "signing", signer.Enabled(), "uploads", len(c.uploadTokens) > 0,
		"accel_redirect", c.accelRedirect, "gpu", queue.State(), "gpu_device", queue.DeviceName(), "libvips", vips.Version(), "version", version)

	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-errc:
		return err
	case sig := <-sigc:
		log.Info("draining", "signal", sig.String(), "timeout", c.server.DrainTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.server.DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	log.Info("stopped")
	return nil
}

// listen opens "host:port" or "unix:/path". A stale socket file from a
// crashed run is removed first; the socket is group-writable so Nginx in
// the same group can connect.
func listen(addr string) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		return net.Listen("tcp", addr)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// signCmd prints a signed path for /t/<options>/<key>.
func signCmd(args []string, out io.Writer) error {
	c, fs, err := load("sign", args, os.Stderr)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: pictor sign [flags] /t/<options>/<key> | /srcset/[<options>/]<key>[?w=320,640,…]  (add exp_<unix> or kid_<id> to the options as needed)")
	}
	signer, err := c.signer()
	if err != nil {
		return err
	}
	if !signer.Enabled() {
		return errors.New("no signing keys: set PICTOR_SIGNING_KEYS or -signing-keys")
	}
	parser, err := options.NewParser(c.options)
	if err != nil {
		return err
	}
	path := fs.Arg(0)
	if rest, ok := strings.CutPrefix(path, "/srcset/"); ok {
		return signSrcset(rest, signer, parser, out)
	}
	rest, ok := strings.CutPrefix(path, "/t/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i < 0 {
		return fmt.Errorf("%q is not /t/<options>/<key> or /srcset/[<options>/]<key>[?w=…]", path)
	}
	o, err := parser.Parse(rest[:i])
	if err != nil {
		return err
	}
	key := rest[i+1:]
	if !store.ValidKey(key) {
		return fmt.Errorf("%q is not a valid key", key)
	}
	signed, err := server.VariantPath(signer, parser, rest[:i], o, key)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, signed)
	return nil
}

// signSrcset signs /srcset/[<options>/]<key>[?w=…] (rest is what follows
// /srcset/): the width list is part of what is signed.
func signSrcset(rest string, signer *sign.Signer, parser *options.Parser, out io.Writer) error {
	rest, query, _ := strings.Cut(rest, "?")
	var raw, key string
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		raw, key = rest[:i], rest[i+1:]
	} else {
		key = rest
	}
	var o options.Options
	if raw != "" {
		var err error
		if o, err = parser.Parse(raw); err != nil {
			return err
		}
	}
	if !store.ValidKey(key) {
		return fmt.Errorf("%q is not a valid key", key)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return err
	}
	_, widths, err := server.SrcsetWidths(q.Get("w"), parser)
	if err != nil {
		return err
	}
	if o.Signature, err = signer.SignSrcset(o, key, widths); err != nil {
		return err
	}
	fmt.Fprintf(out, "/srcset/%s/%s?w=%s\n", o.String(), key, widths)
	return nil
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

// benchCmd is the bench harness (go run ./bench) inside the server binary,
// so a VM with only the binary can load-test itself or a peer. Ctrl-C
// stops the run between requests.
func benchCmd(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return harness.Main(ctx, args, os.Stdout, os.Stderr)
}
