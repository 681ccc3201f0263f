package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteJSON writes r to path as indented JSON, the results file that
// ReadJSON reads back. The file is replaced atomically: a reader sees the
// previous run or this one, never half of one. JSON has no NaN or infinity,
// so a run holding one is refused rather than written in a form no reader
// accepts.
func WriteJSON(path string, r *Run) error {
	if r == nil {
		return ErrNilRun
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode %s: %w", path, err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// ReadJSON reads a results file written by WriteJSON. Fields it does not
// know are ignored, so that a newer harness's file still reads.
func ReadJSON(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("report: decode %s: %w", path, err)
	}
	return &r, nil
}

// writeFileAtomic writes b to a temporary file beside path and renames it
// over path, so that a crash or a concurrent reader never sees a partial
// file. The rename is atomic only within one file system, hence the
// temporary file in path's own directory.
func writeFileAtomic(path string, b []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	// CreateTemp makes the file private (0600); a report is meant to be
	// read, by a browser or a web server, like any other file.
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
