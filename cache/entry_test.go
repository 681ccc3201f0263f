package cache

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewEntry(t *testing.T) {
	for _, tt := range []struct {
		body         string
		etag, digest string // from Python's hashlib and base64, not this package
	}{
		{"", `"47DEQpj8HBSa-_TImW-5JA"`, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"},
		// Both alphabets' differing characters (-_ vs +/) occur here.
		{"pictor", `"R3XtgQdlgDvB6nn_cMV6rg"`, "sha-256=:R3XtgQdlgDvB6nn/cMV6rsq66FSjm7W8nZo+M3mwR50=:"},
	} {
		e := NewEntry([]byte(tt.body), "image/png", 3, 4)
		if e.ETag != tt.etag {
			t.Errorf("NewEntry(%q).ETag = %s, want %s", tt.body, e.ETag, tt.etag)
		}
		if e.Digest != tt.digest {
			t.Errorf("NewEntry(%q).Digest = %s, want %s", tt.body, e.Digest, tt.digest)
		}
		if e.ContentType != "image/png" || e.Width != 3 || e.Height != 4 || string(e.Body) != tt.body {
			t.Errorf("NewEntry(%q) = %+v, want the fields passed in", tt.body, e)
		}
	}
}

func TestNewEntryAgainstStdlib(t *testing.T) {
	body := make([]byte, 100_000)
	for i := range body {
		body[i] = byte(i * 7)
	}
	e := NewEntry(body, "image/jpeg", 640, 480)
	sum := sha256.Sum256(body)
	wantETag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	wantDigest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	if e.ETag != wantETag {
		t.Errorf("ETag = %s, want %s", e.ETag, wantETag)
	}
	if e.Digest != wantDigest {
		t.Errorf("Digest = %s, want %s", e.Digest, wantDigest)
	}
	// RFC 9110 etagc: %x21 / %x23-7E; no padding, no inner quotes.
	inner := strings.Trim(e.ETag, `"`)
	if len(inner) != 22 || strings.ContainsAny(inner, "\"=\\ +/") {
		t.Errorf("ETag %s is not 22 URL-safe characters in quotes", e.ETag)
	}
	if &e.Body[0] != &body[0] {
		t.Error("NewEntry copied the body; it should keep the caller's slice")
	}
}

func BenchmarkNewEntry(b *testing.B) {
	body := make([]byte, 32<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		NewEntry(body, "image/webp", 400, 300)
	}
}
