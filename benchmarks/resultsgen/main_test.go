package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGeneratedSectionReplacesOnlyWhatIsBetweenTheMarkers(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	bench := "goos: linux\npkg: example/p\ncpu: AMD EPYC\nBenchmarkA-2   \t 100\t  2500 ns/op\t 12 B/op\nBenchmarkB\nBenchmarkB/x-2 \t 3\t 9 ns/op\t 7.5 rows/s\nPASS\n"
	if err := os.WriteFile(filepath.Join(out, "a.txt"), []byte(bench), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "b.md"), []byte("## Load\n\n| x |\n|---|\n| 1 |\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "RESULTS.md")
	doc := "# Results\n\nhand-written before\n\n" + begin + "\nold figures\n" + end + "\n\nhand-written after\n"
	if err := os.WriteFile(results, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(out, results, time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(results)
	got := string(b)
	for _, want := range []string{
		"hand-written before", "hand-written after",
		"| benchmark | runs | ns/op | B/op | rows/s |",
		"| BenchmarkA-2 | 100 | 2500 | 12 |  |",
		"| BenchmarkB/x-2 | 3 | 9 |  | 7.5 |",
		"##### Load", "#### a.txt", "    pkg: example/p",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "old figures") || strings.Contains(got, "| BenchmarkB |") {
		t.Errorf("old section kept or a bare name taken as a result:\n%s", got)
	}
	// Idempotent: a second run gives the same file.
	if err := run(out, results, time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(results); string(b2) != got {
		t.Error("a second run changed the file")
	}
	// Unpaired markers are refused, the file left alone.
	bad := filepath.Join(dir, "bad.md")
	if err := os.WriteFile(bad, []byte(end+"\n"+begin+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(out, bad, time.Now()); err == nil {
		t.Error("markers out of order: no error")
	}
}
