package main

import (
	"bytes"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/workers"
)

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1024", 1024, true},
		{"50MiB", 50 << 20, true},
		{"512 MiB", 512 << 20, true},
		{"10GiB", 10 << 30, true},
		{"5MB", 5_000_000, true},
		{"7B", 7, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5GiB", 0, false},
		{"lots", 0, false},
		{"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := parseBytes(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestLoadDefaultsEnvAndFlags(t *testing.T) {
	t.Setenv("PICTOR_TIMEOUT", "3s")
	t.Setenv("PICTOR_MAX_PIXELS", "12MP")
	t.Setenv("PICTOR_MAX_FRAMES", "500")
	t.Setenv("PICTOR_UPLOAD_TOKENS", "tok-a-0123456789abcdef, tok-b-0123456789abcdef")
	t.Setenv("PICTOR_ACCEL_REDIRECT", "on")
	c, _, err := load("serve", []string{"-timeout", "4s", "-presets", "thumb+public:w_200,h_200,c_fill"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.app.Server.Timeout != 4*time.Second {
		t.Errorf("flag did not override env: timeout %v", c.app.Server.Timeout)
	}
	if c.app.Transform.MaxPixels != 12_000_000 {
		t.Errorf("MaxPixels = %d", c.app.Transform.MaxPixels)
	}
	if c.app.Transform.MaxFrames != 500 {
		t.Errorf("MaxFrames = %d, want PICTOR_MAX_FRAMES=500", c.app.Transform.MaxFrames)
	}
	if len(c.app.Server.UploadTokens) != 2 || c.app.Server.UploadTokens[1] != "tok-b-0123456789abcdef" {
		t.Errorf("UploadTokens = %q", c.app.Server.UploadTokens)
	}
	if !c.app.Server.AccelRedirect {
		t.Error("PICTOR_ACCEL_REDIRECT=on not applied")
	}
	if p, ok := c.app.Options.Presets["thumb"]; !ok || !p.Public {
		t.Errorf("presets = %+v", c.app.Options.Presets)
	}
	if c.app.Server.Listen != "127.0.0.1:8081" || c.app.Store.Dir != "./data" || c.app.Memory.MaxBytes != 512<<20 {
		t.Errorf("defaults not applied: listen %q dir %q memory %d", c.app.Server.Listen, c.app.Store.Dir, c.app.Memory.MaxBytes)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tt := range []struct{ env, val string }{
		{"PICTOR_GPU", "sometimes"},
		{"PICTOR_TIMEOUT", "soon"},
		{"PICTOR_MAX_UPLOAD_BYTES", "big"},
		{"PICTOR_ACCEL_REDIRECT", "maybe"},
		{"PICTOR_PRESETS", "bad preset"},
	} {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.val)
			if _, _, err := load("serve", nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error()+tt.env, tt.env) {
				t.Errorf("%s=%q: load = %v, want an error", tt.env, tt.val, err)
			}
		})
	}
}

func TestHelpListsEveryVariable(t *testing.T) {
	var out bytes.Buffer
	_, _, err := load("serve", []string{"-h"}, &out)
	if err != flag.ErrHelp {
		t.Fatalf("-h: %v", err)
	}
	for _, v := range []string{"PICTOR_LISTEN", "PICTOR_ADMIN_LISTEN", "PICTOR_DATA_DIR", "PICTOR_SIGNING_KEYS",
		"PICTOR_UPLOAD_TOKENS", "PICTOR_ACCEL_REDIRECT", "PICTOR_MAX_UPLOAD_BYTES", "PICTOR_MAX_PIXELS",
		"PICTOR_TIMEOUT", "PICTOR_MEMORY_CACHE_BYTES", "PICTOR_DISK_CACHE_BYTES", "PICTOR_GPU",
		"PICTOR_TUS_EXPIRY", "PICTOR_TUS_BYTES", "PICTOR_CORS_ORIGINS"} {
		if !strings.Contains(out.String(), v) {
			t.Errorf("-h does not list %s", v)
		}
	}
}

func TestSignCommand(t *testing.T) {
	t.Setenv("PICTOR_SIGNING_KEYS", "k1:0123456789abcdef0123")
	key := strings.Repeat("ab", 32) + ".jpg"
	var out bytes.Buffer
	if err := signCmd([]string{"/t/f_webp,w_400/" + key}, &out); err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(out.String())
	if !strings.HasPrefix(got, "/t/w_400,f_webp,s_") || !strings.HasSuffix(got, "/"+key) {
		t.Errorf("sign printed %q", got)
	}
	for _, bad := range []string{"/x/w_400/" + key, "/t/w_abc/" + key, "/t/w_400/nokey"} {
		if err := signCmd([]string{bad}, &bytes.Buffer{}); err == nil {
			t.Errorf("sign %q succeeded, want an error", bad)
		}
	}
}

func TestSignSrcsetCommand(t *testing.T) {
	t.Setenv("PICTOR_SIGNING_KEYS", "k1:0123456789abcdef0123")
	key := strings.Repeat("ab", 32) + ".jpg"
	signer, err := sign.New(sign.Config{Keys: []sign.Key{{ID: "k1", Secret: []byte("0123456789abcdef0123")}}, Length: sign.DefaultLength})
	if err != nil {
		t.Fatal(err)
	}
	parser, _ := options.NewParser(options.DefaultConfig())
	for _, tt := range []struct{ in, widths string }{
		{"/srcset/f_webp/" + key + "?w=640,320,640", "320,640"},
		{"/srcset/" + key, "320,640,960,1280,1920"},
	} {
		var out bytes.Buffer
		if err := signCmd([]string{tt.in}, &out); err != nil {
			t.Fatalf("sign %q: %v", tt.in, err)
		}
		got := strings.TrimSpace(out.String())
		path, widths, _ := strings.Cut(strings.TrimPrefix(got, "/srcset/"), "?w=")
		i := strings.LastIndexByte(path, '/')
		if i < 0 || path[i+1:] != key || widths != tt.widths {
			t.Fatalf("sign %q printed %q, want the key and ?w=%s", tt.in, got, tt.widths)
		}
		o, err := parser.Parse(path[:i])
		if err != nil {
			t.Fatal(err)
		}
		if err := signer.VerifySrcset(o, key, widths, time.Now()); err != nil {
			t.Errorf("sign %q printed %q, which does not verify: %v", tt.in, got, err)
		}
	}
	if err := signCmd([]string{"/srcset/" + key + "?w=0"}, &bytes.Buffer{}); err == nil {
		t.Error("sign with ?w=0 succeeded, want an error")
	}
}

// A setting out of range is refused at start-up with the variable an
// operator sets, never a Go field.
func TestLoadErrorsNameTheVariable(t *testing.T) {
	for _, tt := range []struct{ env, val, want string }{
		{"PICTOR_MAX_UPLOAD_BYTES", "0", "PICTOR_MAX_UPLOAD_BYTES: must be >= 1"},
		{"PICTOR_MAX_DIMENSION", "0", "PICTOR_MAX_DIMENSION: must be >= 1"},
		{"PICTOR_TIMEOUT", "0s", "PICTOR_TIMEOUT: must be > 0"},
		{"PICTOR_DRAIN_TIMEOUT", "-1s", "PICTOR_DRAIN_TIMEOUT: must be > 0"},
		{"PICTOR_WORKERS", "0", "PICTOR_WORKERS: must be >= 1"},
		{"PICTOR_QUEUE", "-1", "PICTOR_QUEUE: must be >= 0"},
		{"PICTOR_MEMORY_BUDGET", "-1", "PICTOR_MEMORY_BUDGET="},
		{"PICTOR_MEMORY_BUDGET", "lots", "PICTOR_MEMORY_BUDGET="},
		{"PICTOR_GPU_QUEUE", "0", "PICTOR_GPU_QUEUE: must be >= 1"},
		{"PICTOR_GPU_STREAMS", "65", "PICTOR_GPU_STREAMS: must be from 1 to 64"},
		{"PICTOR_GPU", "sometimes", `PICTOR_GPU: "sometimes": want off, auto, require`},
		{"PICTOR_SIGNATURE_LENGTH", "4", "PICTOR_SIGNATURE_LENGTH: must be from 8 to 43"},
		{"PICTOR_UPLOAD_TOKENS", "short", "PICTOR_UPLOAD_TOKENS: each token must have at least 16 characters"},
		{"PICTOR_VIPS_CONCURRENCY", "0", "PICTOR_VIPS_CONCURRENCY: must be >= 1"},
		{"PICTOR_LOG_FORMAT", "xml", `PICTOR_LOG_FORMAT: "xml": want text, json`},
		{"PICTOR_DATA_DIR", "", "PICTOR_DATA_DIR: must not be empty"},
		{"PICTOR_MAX_PIXELS", "0", "PICTOR_MAX_PIXELS="},
		{"PICTOR_TUS_EXPIRY", "0s", "PICTOR_TUS_EXPIRY: must be > 0"},
		{"PICTOR_TUS_BYTES", "0", "PICTOR_TUS_BYTES: must be >= 1"},
		{"PICTOR_CORS_ORIGINS", "https://a.example.com,app.example.com", `PICTOR_CORS_ORIGINS: CORS origin "app.example.com": want scheme://host[:port] or *`},
		{"PICTOR_CORS_ORIGINS", "https://a.example.com/path", `PICTOR_CORS_ORIGINS: CORS origin "https://a.example.com/path"`},
		{"PICTOR_MAX_FRAMES", "0", "PICTOR_MAX_FRAMES: must be from 1 to 4096"},
		{"PICTOR_MAX_FRAMES", "4097", "PICTOR_MAX_FRAMES: must be from 1 to 4096"},
	} {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.val)
			_, _, err := load("serve", nil, &bytes.Buffer{})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("%s=%q: load = %v, want %q", tt.env, tt.val, err, tt.want)
			}
		})
	}
	// A flag is checked the same way.
	if _, _, err := load("serve", []string{"-workers", "0"}, &bytes.Buffer{}); err == nil || err.Error() != "PICTOR_WORKERS: must be >= 1" {
		t.Errorf("-workers 0: load = %v", err)
	}
}

// PICTOR_MEMORY_BUDGET takes a size, or auto for half the machine's memory.
func TestLoadMemoryBudget(t *testing.T) {
	for val, want := range map[string]int64{"512MiB": 512 << 20, "0": 0, "auto": workers.MachineMemory() / 2} {
		t.Setenv("PICTOR_MEMORY_BUDGET", val)
		c, _, err := load("serve", nil, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("PICTOR_MEMORY_BUDGET=%s: %v", val, err)
		}
		if got := c.app.Workers.MemoryBudget; got != want {
			t.Errorf("PICTOR_MEMORY_BUDGET=%s: budget %d, want %d", val, got, want)
		}
	}
}

// Settings that feed more than one package are set once.
func TestLoadSharedSettings(t *testing.T) {
	c, _, err := load("serve", []string{"-data-dir", "/srv/pictor", "-max-dimension", "4000", "-gpu", "off"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.app.Store.Dir != "/srv/pictor" || c.app.Disk.Dir != "/srv/pictor/cache" {
		t.Errorf("data dir %q, disk dir %q", c.app.Store.Dir, c.app.Disk.Dir)
	}
	if c.app.Options.MaxDimension != 4000 || c.app.Transform.MaxDimension != 4000 {
		t.Errorf("max dimension: options %d, transform %d", c.app.Options.MaxDimension, c.app.Transform.MaxDimension)
	}
	if c.app.Device.Mode != "off" {
		t.Errorf("gpu mode %q", c.app.Device.Mode)
	}
}

// The resumable-upload settings reach the server's config.
func TestLoadTusSettings(t *testing.T) {
	t.Setenv("PICTOR_TUS_EXPIRY", "90m")
	t.Setenv("PICTOR_TUS_BYTES", "2GiB")
	t.Setenv("PICTOR_CORS_ORIGINS", "https://app.example.com, http://localhost:5173")
	c, _, err := load("serve", nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	s := c.app.Server
	if s.TusExpiry != 90*time.Minute || s.TusBytes != 2<<30 ||
		!reflect.DeepEqual(s.CORSOrigins, []string{"https://app.example.com", "http://localhost:5173"}) {
		t.Errorf("TusExpiry %v, TusBytes %d, CORSOrigins %q", s.TusExpiry, s.TusBytes, s.CORSOrigins)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	d := app.DefaultConfig().Server
	if d.TusExpiry != 24*time.Hour || d.TusBytes != 10<<30 || d.CORSOrigins != nil {
		t.Errorf("defaults: %v, %d, %q", d.TusExpiry, d.TusBytes, d.CORSOrigins)
	}
}
