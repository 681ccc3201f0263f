package server

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// Upload-Checksum comes from the client: any header value is either
// refused or read as exactly one sha256 digest.
func FuzzParseChecksum(f *testing.F) {
	for _, s := range []string{
		"sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		"sha256  47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= ",
		"md5 1B2M2Y8AsgTpgAmY7PhCfg==", "sha256", "sha256 ", "sha256 !!!", "", " ",
		"SHA256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		sum, err := parseChecksum(v)
		if err != nil {
			if sum != nil {
				t.Errorf("parseChecksum(%q) = %x with error %v", v, sum, err)
			}
			return
		}
		if len(sum) != 32 {
			t.Fatalf("parseChecksum(%q) = %d bytes, want 32", v, len(sum))
		}
		again, err := parseChecksum("sha256 " + base64.StdEncoding.EncodeToString(sum))
		if err != nil || !bytes.Equal(again, sum) {
			t.Errorf("parseChecksum(%q) = %x, does not round-trip: %x, %v", v, sum, again, err)
		}
	})
}

func TestParseChecksum(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", true},
		{"md5 1B2M2Y8AsgTpgAmY7PhCfg==", false},
		{"sha256 1B2M2Y8AsgTpgAmY7PhCfg==", false}, // 16 bytes
		{"sha256", false},
		{"", false},
	} {
		if _, err := parseChecksum(tt.in); (err == nil) != tt.ok {
			t.Errorf("parseChecksum(%q) = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}
