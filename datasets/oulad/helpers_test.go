package oulad

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
)

// realData returns the public OULAD 2013 folder, skipping the test when it is absent,
// unless CI is set: there absence is a failure.
func realData(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "oulad-2013")
	if _, err := os.Stat(filepath.Join(dir, AssessmentsFile)); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("OULAD data missing under CI=true (the public OULAD 2013 extract belongs at ../shared/data/oulad-2013 from the repository root): %v", err)
		}
		tb.Skipf("skipped: the public OULAD 2013 extract is not at %s (../shared/data/oulad-2013 from the repository root; under CI=true this fails)", dir)
	}
	return dir
}

// miniData copies the synthetic fixture into a fresh folder that a test may alter.
func miniData(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	entries, err := os.ReadDir(filepath.Join("testdata", "mini"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", "mini", e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// readRows reads a CSV whole: header first.
func readRows(tb testing.TB, path string) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return rows
}

// column returns the values of a named column of a CSV, header excluded.
func column(tb testing.TB, path, name string) []string {
	tb.Helper()
	rows := readRows(tb, path)
	for i, h := range rows[0] {
		if h == name {
			out := make([]string, 0, len(rows)-1)
			for _, r := range rows[1:] {
				out = append(out, r[i])
			}
			return out
		}
	}
	tb.Fatalf("%s has no column %q", path, name)
	return nil
}

func load(tb testing.TB, dir string) *datasets.Dataset {
	tb.Helper()
	d, err := datasets.LoadFolder(dir, datasets.LoadOptions{})
	if err != nil {
		tb.Fatalf("LoadFolder(%s): %v", dir, err)
	}
	return d
}

func importTo(tb testing.TB, in string) (string, Summary) {
	tb.Helper()
	out := tb.TempDir()
	sum, err := Import(in, out, nil)
	if err != nil {
		tb.Fatalf("Import(%s): %v", in, err)
	}
	return out, sum
}
