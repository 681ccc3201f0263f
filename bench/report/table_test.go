package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWriteTable(t *testing.T) {
	r := fixtureRun()
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")

	// The header, then per result a row, plus a row for each further
	// process: pictor-nginx has two in each of three scenarios.
	rows := 0
	for i := range r.Results {
		rows += max(1, len(r.Results[i].Processes))
	}
	if !strings.HasPrefix(lines[0], "SCENARIO") {
		t.Fatalf("first line %q, want the header", lines[0])
	}
	table := lines[:1+rows]

	// Aligned: every column starts at the same rune offset on every line.
	for _, col := range []string{"REQ/S", "P99 ms", "ERRORS", "PROCESS", "PEAK RSS"} {
		at := runeIndex(table[0], col)
		if at < 0 {
			t.Fatalf("header %q has no %q", table[0], col)
		}
		for _, l := range table[1:] {
			if utf8.RuneCountInString(l) > at && at > 0 && []rune(l)[at-1] != ' ' {
				t.Errorf("column %q at %d is not aligned in %q", col, at, l)
			}
		}
	}

	// The cold row of the peer, cell by cell.
	peer := findLine(t, table, "cold", "nginx-image-filter")
	cold := &r.Results[2]
	for _, want := range []string{
		"closed, 4 conns", num(cold.Throughput), num(cold.Latency.P50), num(cold.Latency.P90),
		num(cold.Latency.P99), num(cold.Latency.Max), "429:6 timeout:1",
		siBytes(cold.BytesPerSec) + "/s", "nginx", num(cold.Processes[0].CPUPerRequest), "160.0 MB",
	} {
		if !strings.Contains(peer, want) {
			t.Errorf("cold peer row %q lacks %q", peer, want)
		}
	}
	// pictor-nginx's second process continues its row, under PROCESS.
	for i, l := range table {
		if strings.Contains(l, "hot") && strings.Contains(l, "pictor-nginx") {
			next := table[i+1]
			if !strings.Contains(next, "pictor") || strings.Contains(next, "hot") {
				t.Errorf("row after %q is %q, want the pictor process alone", l, next)
			}
			if got, want := runeIndex(next, "pictor"), runeIndex(table[0], "PROCESS"); got != want {
				t.Errorf("process continuation at %d, want %d under PROCESS", got, want)
			}
		}
	}
	// The upload result has no processes.
	if up := findLine(t, table, "upload", "pictor-direct"); !strings.HasSuffix(strings.Join(strings.Fields(up), " "), "500 B/s - - -") {
		t.Errorf("upload row %q, want empty process cells", up)
	}

	// The ratios, with targets and verdicts.
	ratios := lines[1+rows:]
	tests := []struct{ name, fields string }{
		{"hot req/s through nginx", "15500 ≥ 15000 met"},
		{"cold CPU ÷ pipeline CPU", "1.21 ≤ 1.1 missed by 10.0%"},
		{"srcset variant ÷ cold variant CPU", "0.310 ≤ 0.4 met"},
		{"nginx share of CPU", "0.0420 - -"},
	}
	for _, tt := range tests {
		l := findLine(t, ratios, tt.name)
		if got := strings.Join(strings.Fields(strings.TrimPrefix(l, tt.name)), " "); got != tt.fields {
			t.Errorf("ratio %q reads %q, want %q", tt.name, got, tt.fields)
		}
	}
}

func TestWriteTableEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, &Run{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "(no results)") || strings.Contains(b.String(), "RATIO") {
		t.Errorf("empty run table = %q", b.String())
	}
	if err := WriteTable(&b, nil); !errors.Is(err, ErrNilRun) {
		t.Errorf("WriteTable(nil) = %v, want %v", err, ErrNilRun)
	}
}

func TestWriteMarkdown(t *testing.T) {
	r := fixtureRun()
	// A pipe in a name must not split its cell.
	r.Results[0].Target = "pictor|nginx"
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Measured on AMD EPYC 7B13, 2 cores, 24.0 GiB memory, kernel 6.1.0-28-cloud-amd64, " +
			"Debian GNU/Linux 12 (bookworm), go1.26.8, 2026-11-22 06:53 UTC.",
		"```sh\n" + r.Command + "\n```",
		"| scenario | target | load | requests | req/s |",
		`| cold | pictor\|nginx | closed, 4 conns |`,
		"nginx 40.0 MB · pictor 90.0 MB",
		"| cold CPU ÷ pipeline CPU | 1.21 | ≤ 1.1 | missed by 10.0% | sidecar CPU per cold request ÷ BenchmarkPipeline CPU per image |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	// One table row per result, each with as many cells as the header.
	var header, rows int
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, "| scenario |") {
			header = cells(l)
			continue
		}
		for _, s := range []string{"cold", "srcset", "hot", "upload"} {
			if strings.HasPrefix(l, "| "+s+" |") {
				rows++
				if n := cells(l); n != header {
					t.Errorf("row %q has %d cells, want %d", l, n, header)
				}
			}
		}
	}
	if rows != len(r.Results) {
		t.Errorf("markdown has %d result rows, want %d", rows, len(r.Results))
	}
}

// cells counts the cells of a Markdown table row, not counting escaped pipes.
func cells(row string) int {
	return strings.Count(row, "|") - strings.Count(row, `\|`) - 1
}

func runeIndex(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		return -1
	}
	return utf8.RuneCountInString(s[:i])
}

func findLine(t *testing.T, lines []string, words ...string) string {
	t.Helper()
next:
	for _, l := range lines {
		for _, w := range words {
			if !strings.Contains(l, w+" ") {
				continue next
			}
		}
		return l
	}
	t.Fatalf("no line with %q in:\n%s", words, strings.Join(lines, "\n"))
	return ""
}
