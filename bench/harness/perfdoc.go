package harness

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/pictorhq/pictor/bench/report"
)

// The performance document's figures (docs/performance.md; never
// README.md) sit between these markers; RewriteDoc replaces what is between
// them and nothing else.
const (
	markerBegin = "<!-- bench:begin -->"
	markerEnd   = "<!-- bench:end -->"
)

// DefaultDoc is the document make bench writes its figures into.
const DefaultDoc = "docs/performance.md"

// RewriteDoc replaces the text between the bench markers of the Markdown
// file at path with run as Markdown (report.WriteMarkdown) followed by
// notes, one paragraph each, atomically: a temporary file, then a rename.
func RewriteDoc(path string, run *report.Run, notes []string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var block strings.Builder
	if err := report.WriteMarkdown(&block, run); err != nil {
		return err
	}
	for _, n := range notes {
		block.WriteString("\n" + strings.TrimSpace(n) + "\n")
	}
	out, err := replaceBlock(raw, block.String())
	if err != nil {
		return fmt.Errorf("%w in %s", err, path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".bench.tmp"
	if err := os.WriteFile(tmp, out, st.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// checkDoc reports, before minutes of measuring, whether RewriteDoc will
// find its block in the file at path.
func checkDoc(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %w (scripts/bench.sh: BENCH_DOC= writes no document)", ErrMarkers, err)
	}
	if _, err := replaceBlock(raw, ""); err != nil {
		return fmt.Errorf("%w in %s", err, path)
	}
	return nil
}

// replaceBlock puts block between the markers of doc, each marker alone on
// its line.
func replaceBlock(doc []byte, block string) ([]byte, error) {
	i := bytes.Index(doc, []byte(markerBegin))
	j := bytes.Index(doc, []byte(markerEnd))
	if i < 0 || j < 0 || j < i || bytes.Count(doc, []byte(markerBegin)) != 1 || bytes.Count(doc, []byte(markerEnd)) != 1 {
		return nil, ErrMarkers
	}
	var out bytes.Buffer
	out.Write(doc[:i+len(markerBegin)])
	out.WriteString("\n")
	out.WriteString(strings.TrimRight(block, "\n"))
	out.WriteString("\n")
	out.Write(doc[j:])
	return out.Bytes(), nil
}
