package app

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/pictorhq/pictor/cache"
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

// The concrete types wired into the edge's interfaces.
var (
	_ server.Variants  = (*cache.Tiered)(nil)
	_ server.Purger    = (*cache.Tiered)(nil)
	_ server.Purger    = (*cache.Decoded[*transform.Decoded])(nil)
	_ server.Originals = (*store.FS)(nil)
	_ server.Originals = (*store.S3)(nil)
)

// App is the whole server: every part built, not yet listening.
type App struct {
	cfg      Config
	log      *slog.Logger
	srv      *server.Server
	store    store.Store
	local    *store.FS // the data directory's originals: the store itself with fs, the local copies with s3
	s3       *store.S3 // nil with fs
	mem      *cache.Memory
	disk     *cache.Disk // nil without a disk tier
	queue    *device.Queue
	proc     *transform.Processor
	signer   *sign.Signer
	registry *prometheus.Registry
	trim     *trimmer // hands freed C heap back when the pool idles
	pool     *workers.Pool
	closers  []func() // in the order built; Close runs them backwards
}

// New builds every part from cfg. On error, what was built is released.
func New(cfg Config) (_ *App, err error) {
	a := &App{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := vips.Startup(cfg.Vips); err != nil {
		return nil, err
	}
	if err := a.openStore(); err != nil {
		return nil, err
	}
	if err := a.openDevice(); err != nil {
		return nil, err
	}
	variants, purger, decoded, err := a.openCaches()
	if err != nil {
		return nil, err
	}
	if a.s3 != nil {
		// A DELETE through another sidecar reaches this one's tiers here.
		a.s3.StartSync(purger.Purge)
	}
	if a.proc, err = transform.New(cfg.Transform, transform.Deps{Resizer: a.queue, Decoded: decoded, Overlays: overlays{a.store}}); err != nil {
		return nil, err
	}
	parser, err := options.NewParser(cfg.Options)
	if err != nil {
		return nil, err
	}
	if a.signer, err = sign.New(cfg.Sign); err != nil {
		return nil, err
	}
	pool, err := workers.New(cfg.Workers)
	if err != nil {
		return nil, err
	}
	a.pool = pool
	a.register(pool.Collectors()...)
	a.trim = newTrimmer(pool)
	a.onClose(a.trim.stop)
	a.register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "pictor_heap_trims_total", Help: "Times freed C heap went back to the system after the workers went idle.",
	}, func() float64 { return float64(a.trim.trims.Load()) }))
	// The pipeline's decode count; transform has no Collectors of its own.
	a.register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "pictor_decodes_total", Help: "Originals decoded by the pipeline.",
	}, func() float64 { return float64(a.proc.Decodes()) }))
	if cfg.Server.TusDir == "" {
		// Parts of resumable uploads stay beside the data they become, on
		// the local disk whichever store keeps the originals.
		cfg.Server.TusDir = filepath.Join(cfg.Store.Dir, "tus")
	}
	a.srv, err = server.New(cfg.Server, server.Deps{
		Originals: a.store, Processor: a.proc, Parser: parser, Signer: a.signer,
		Variants: variants, Purger: purger, Workers: pool,
		Logger: a.log, Registry: a.registry, Ready: a.readiness(),
	})
	if err != nil {
		return nil, err
	}
	a.onClose(a.srv.Close)
	return a, nil
}

func (a *App) onClose(f func()) { a.closers = append(a.closers, f) }

// openStore opens the originals store PICTOR_STORE names: the data
// directory, or a bucket read through local copies in it. A fetch from the
// bucket is bounded by the request deadline, so that a store that hangs
// gives a 503 in time.
func (a *App) openStore() error {
	s, err := OpenStore(a.cfg, a.log)
	if err != nil {
		return err
	}
	a.store = s
	a.onClose(func() { a.store.Close() })
	switch s := s.(type) {
	case *store.S3:
		a.local, a.s3 = s.Local(), s
		a.register(s.Collectors()...)
	case *store.FS:
		a.local = s
	}
	return nil
}

// OpenStore opens the originals store cfg names, as New does: for the
// commands that need the store without the server (pictor import).
func OpenStore(cfg Config, log *slog.Logger) (store.Store, error) {
	if cfg.Store.Backend != store.BackendS3 {
		return store.Open(cfg.Store)
	}
	c := cfg.S3
	// A tenth of the deadline is left for the answer itself.
	c.Timeout = cfg.Server.Timeout * 9 / 10
	return store.OpenS3(cfg.Store, c, log)
}

// overlays reads image layers from the originals store, as the server
// reads originals: mapped where the store maps, released after decoding.
type overlays struct {
	store interface {
		Map(key string) (*store.Mapping, error)
	}
}

var _ transform.OverlaySource = overlays{}

func (o overlays) Overlay(key string) ([]byte, func(), error) {
	m, err := o.store.Map(key)
	if err != nil {
		return nil, nil, err
	}
	return m.Bytes(), func() { m.Close() }, nil
}

// register adds a part's collectors; names are fixed and distinct, so a
// clash is a programming error.
func (a *App) register(cs ...prometheus.Collector) {
	for _, c := range cs {
		a.registry.MustRegister(c)
	}
}

// openDevice opens the resize device queue: a GPU when PICTOR_GPU allows
// and one is found, else the CPU.
func (a *App) openDevice() error {
	q, err := device.Open(a.cfg.Device)
	if err != nil {
		return fmt.Errorf("PICTOR_GPU=%s: %w", a.cfg.Device.Mode, err)
	}
	a.queue = q
	a.onClose(func() { q.Close() })
	if err := q.Err(); err != nil {
		a.log.Info("resizing on the CPU", "gpu", a.cfg.Device.Mode, "reason", err)
	}
	a.register(q.Collectors()...)
	return nil
}

// openCaches builds the decoded-original cache and the variant tiers: the
// memory tier in front of the disk tier (left out when its budget is 0).
// A DELETE purges the variants, then the decode.
func (a *App) openCaches() (*cache.Tiered, server.Purger, *cache.Decoded[*transform.Decoded], error) {
	decoded, err := cache.NewDecoded[*transform.Decoded](a.cfg.Decoded)
	if err != nil {
		return nil, nil, nil, err
	}
	a.onClose(decoded.Close)
	a.register(decoded.Collectors()...)
	mem, err := cache.NewMemory(a.cfg.Memory)
	if err != nil {
		return nil, nil, nil, err
	}
	a.onClose(mem.Close)
	a.register(mem.Collectors()...)
	a.mem = mem
	var disk cache.DiskTier // stays nil without a disk tier
	if a.cfg.Disk.MaxBytes > 0 {
		d, err := cache.NewDisk(a.cfg.Disk, a.log)
		if err != nil {
			return nil, nil, nil, err
		}
		a.onClose(d.Close)
		a.register(d.Collectors()...)
		a.disk, disk = d, d
	}
	tiered, err := cache.NewTiered(a.cfg.Tiered, mem, disk)
	if err != nil {
		return nil, nil, nil, err
	}
	a.onClose(tiered.Close)
	a.register(tiered.Collectors()...)
	return tiered, server.Purgers{tiered, decoded}, decoded, nil
}

// readiness is what /readyz checks: the store takes writes, libvips reads
// an image header, the device is not a required GPU that is missing or
// dead (its state is shown either way). The memory budget is shown with
// what admitted transforms hold of it; it never fails readiness, since a
// full budget makes work wait, not fail.
func (a *App) readiness() map[string]server.Readiness {
	probe := tinyPNG()
	return map[string]server.Readiness{
		"store": server.ReadinessFunc(func() (string, error) {
			return "ok", a.store.Ready()
		}),
		"libvips": server.ReadinessFunc(func() (string, error) {
			_, err := a.proc.Probe(probe)
			return "ok", err
		}),
		"device": server.ReadinessFunc(func() (string, error) {
			return string(a.queue.State()), a.queue.Ready()
		}),
		"memory": server.ReadinessFunc(func() (string, error) {
			if a.pool.Budget() == 0 {
				return "no budget", nil
			}
			return fmt.Sprintf("%d of %d MiB reserved", (a.pool.Reserved()+(1<<20)-1)>>20, a.pool.Budget()>>20), nil
		}),
	}
}

// tinyPNG is a 1×1 PNG for the libvips readiness check.
func tinyPNG() []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	return b.Bytes()
}

// Server is the HTTP edge, for tests that drive its handlers.
func (a *App) Server() *server.Server { return a.srv }

// Processor is the pipeline, for tests that count its decodes.
func (a *App) Processor() *transform.Processor { return a.proc }

// Signer signs URLs with the configured keys.
func (a *App) Signer() *sign.Signer { return a.signer }

// Store is the data directory's originals, for tests that look at what an
// upload stored: the store itself with fs, the local copies with s3.
func (a *App) Store() *store.FS { return a.local }

// Originals is the configured store, FS or S3.
func (a *App) Originals() store.Store { return a.store }

// Memory is the memory tier (disabled when its budget is 0), for tests
// that wait on the tiers' background stores: what the edge sees through
// server.Variants cannot tell which tier holds a variant without
// promoting it.
func (a *App) Memory() *cache.Memory { return a.mem }

// Disk is the disk tier, nil when left out; see Memory.
func (a *App) Disk() *cache.Disk { return a.disk }

// Serve serves the public routes on public and, when admin is not nil, the
// admin routes on admin, until Shutdown or a listener fails.
func (a *App) Serve(public, admin net.Listener) error {
	errc := make(chan error, 2)
	go func() { errc <- a.srv.Serve(public) }()
	if admin != nil {
		go func() { errc <- a.srv.ServeAdmin(admin) }()
	}
	return <-errc
}

// Shutdown drains the server (see server.Server.Shutdown).
func (a *App) Shutdown(ctx context.Context) error { return a.srv.Shutdown(ctx) }

// Run opens the configured listeners and serves until ctx ends, then
// drains within the configured drain timeout. It returns nil after a clean
// drain.
func (a *App) Run(ctx context.Context) error {
	ln, err := listen(a.cfg.Server.Listen)
	if err != nil {
		return err
	}
	var aln net.Listener
	if a.cfg.Server.AdminListen != "" {
		if aln, err = listen(a.cfg.Server.AdminListen); err != nil {
			ln.Close()
			return err
		}
	}
	a.logStart()
	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ln, aln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("draining", "reason", context.Cause(ctx).Error(), "timeout", a.cfg.Server.DrainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.DrainTimeout)
	defer cancel()
	if err := a.Shutdown(dctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	a.log.Info("stopped")
	return nil
}

func (a *App) logStart() {
	c := a.cfg
	a.log.Info("pictor listening", "listen", c.Server.Listen, "admin", c.Server.AdminListen,
		"data", c.Store.Dir, "store", a.storeName(), "signing", a.signer.Enabled(), "uploads", len(c.Server.UploadTokens) > 0,
		"accel_redirect", c.Server.AccelRedirect, "gpu", a.queue.State(), "gpu_device", a.queue.DeviceName(),
		"libvips", vips.Version(), "version", c.Version)
}

// storeName says where originals are kept, for the start-up line: never
// the credentials.
func (a *App) storeName() string {
	if a.s3 == nil {
		return store.BackendFS
	}
	return "s3 " + a.cfg.S3.Endpoint + "/" + a.cfg.S3.Bucket + "/" + a.cfg.S3.Prefix
}

// Close releases every part, the last built first. The server must have
// been shut down (or never served).
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
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
