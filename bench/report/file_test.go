package report

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestJSONRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	want := fixtureRun()
	if err := WriteJSON(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadJSON(WriteJSON(run)) differs from run:\n got %+v\nwant %+v", got.Results[0], want.Results[0])
	}

	// The file is the documented format, readable without this package.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"started": "2026-11-22T06:53:04Z"`, `"latency_ms": {`, `"p99_ms":`,
		`"cpu_ms_per_request":`, `"peak_rss_bytes": 40000000`, `"errors": {`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("results file lacks %s", want)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("results file mode %v, want 0644", fi.Mode().Perm())
	}
	assertOnlyFile(t, dir, "results.json")
}

// A run that cannot be written leaves the previous file as it was, and no
// temporary file beside it.
func TestWriteJSONKeepsPreviousOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := WriteJSON(path, fixtureRun()); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := fixtureRun()
	bad.Results[0].Throughput = math.NaN()
	if err := WriteJSON(path, bad); err == nil {
		t.Fatal("WriteJSON wrote a NaN")
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Error("a failed WriteJSON changed the previous file")
	}
	assertOnlyFile(t, dir, "results.json")

	// A directory that does not exist fails cleanly too.
	if err := WriteJSON(filepath.Join(dir, "missing", "results.json"), fixtureRun()); err == nil {
		t.Error("WriteJSON into a missing directory succeeded")
	}
}

func TestReadJSONErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadJSON(filepath.Join(dir, "none.json")); !os.IsNotExist(err) {
		t.Errorf("ReadJSON(missing) = %v, want not-exist", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"results": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSON(bad); err == nil || !strings.Contains(err.Error(), "report: decode") {
		t.Errorf("ReadJSON(truncated) = %v, want a decode error", err)
	}
	// Fields from a newer harness are ignored, the known ones read.
	newer := filepath.Join(dir, "newer.json")
	if err := os.WriteFile(newer, []byte(`{"command": "go run ./bench", "gpu": {"name": "H100"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := ReadJSON(newer)
	if err != nil || r.Command != "go run ./bench" {
		t.Errorf("ReadJSON(newer) = %+v, %v", r, err)
	}
}

func assertOnlyFile(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != name {
		t.Errorf("directory holds %q, want only %s", names, name)
	}
}
