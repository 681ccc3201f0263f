package server_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/pictorhq/pictor/app"
)

// Nginx asks again with X-Pictor-Disk-Miss when the file an
// X-Accel-Redirect named is gone (an evicted local copy of an S3
// original): the sidecar then sends the original itself.
func TestOriginalAccelMiss(t *testing.T) {
	h := newHarness(t, func(c *app.Config) { c.Server.AccelRedirect = true })
	key := h.uploadKey("../testdata/sample.jpg")
	want, _ := os.ReadFile("../testdata/sample.jpg")
	r := h.get("/o/"+key, "X-Pictor-Disk-Miss: 1")
	if r.status != 200 || r.header["X-Accel-Redirect"] != "" || !bytes.Equal(r.body, want) {
		t.Errorf("GET /o/ after Nginx missed: %v, X-Accel-Redirect %q; want 200 and the original's bytes", r, r.header["X-Accel-Redirect"])
	}
}
