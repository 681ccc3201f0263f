package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/pictorhq/pictor/internal/animtest"
	"github.com/pictorhq/pictor/transform/format"
)

// generatedPrefix starts the file= of an original the harness makes
// itself rather than reading from the corpus: one the corpus has no
// example of, such as an animated GIF. A distinct scenario writes its
// copies under the corpus directory as usual, so peers read them there.
const generatedPrefix = "generated/"

// maxGeneratedFrames and maxGeneratedSide bound a generated animation: a
// GIF of 200 frames of 1920×1080 is about 400 MB of pixels to make.
const (
	maxGeneratedFrames = 1000
	maxGeneratedSide   = 1920
)

// generatedFile makes the original name describes:
// "generated/anim-<frames>f-<w>x<h>.gif" is animtest.Movie, an animated
// GIF of that many frames and size, 25 frames a second.
func generatedFile(name, corpus string) (*File, error) {
	var n, w, h int
	var rest string
	if k, err := fmt.Sscanf(name, generatedPrefix+"anim-%df-%dx%d%s", &n, &w, &h, &rest); err != nil || k != 4 || rest != ".gif" ||
		n < 1 || n > maxGeneratedFrames || w < 1 || w > maxGeneratedSide || h < 1 || h > maxGeneratedSide {
		return nil, fmt.Errorf("%w: %s: want %sanim-<frames>f-<w>x<h>.gif, 1..%d frames of at most %d px a side",
			ErrScenario, name, generatedPrefix, maxGeneratedFrames, maxGeneratedSide)
	}
	data := animtest.Movie(n, w, h)
	sum := sha256.Sum256(data)
	base := filepath.Base(name)
	return &File{
		Name: base, Path: filepath.Join(corpus, base), Format: format.GIF,
		Width: w, Height: h, Data: data,
		Key: hex.EncodeToString(sum[:]) + "." + format.GIF.Ext(),
	}, nil
}
