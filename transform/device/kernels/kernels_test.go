package kernels

import (
	"strings"
	"testing"
)

// TestPTXHasEntries: every entry point the CUDA backend looks up is a
// visible kernel in the embedded PTX, and no multiply-add was fused (the
// premultiply and unpremultiply must round each float product as libvips
// does).
func TestPTXHasEntries(t *testing.T) {
	p := string(PTX())
	if !strings.HasSuffix(p, "\x00") {
		t.Error("PTX() is not NUL-terminated")
	}
	for _, e := range Entries {
		if !strings.Contains(p, ".visible .entry "+e+"(") {
			t.Errorf("PTX has no entry %s", e)
		}
	}
	if strings.Contains(p, "fma.") {
		t.Error("PTX contains a fused multiply-add")
	}
}
