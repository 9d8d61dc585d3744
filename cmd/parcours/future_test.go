package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// TestIngestRefusesFutureDates (issue 13.5): a grade dated 2099 in a data folder is
// refused by `parcours ingest` (exit 2, file, line and field), and nothing is written.
func TestIngestRefusesFutureDates(t *testing.T) {
	url := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	dir := filepath.Join(t.TempDir(), "a")
	if code, _, stderr := runCLI(t, "generate", "--out", dir, "--students", "20", "--seed", "4"); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	gp := filepath.Join(dir, "grades.csv")
	b, err := os.ReadFile(gp)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	header := strings.Split(lines[0], ",")
	f := strings.Split(lines[3], ",")
	for i, h := range header {
		if h == "date" {
			f[i] = "2099-01-05T08:00:00Z"
		}
	}
	lines[3] = strings.Join(f, ",")
	if err := os.WriteFile(gp, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "ingest", "--data", dir)
	if code != exitBadUse || !strings.Contains(stderr, "grades.csv") || !strings.Contains(stderr, ":4") || !strings.Contains(stderr, "date") {
		t.Fatalf("ingest of a grade dated 2099: exit %d, stderr %q; want 2 naming grades.csv, line 4 and date", code, stderr)
	}
	if err := pgstore.Migrate(t.Context(), url); err != nil { // the tables, if ingest made none
		t.Fatal(err)
	}
	assertRowCounts(t, url, map[string]int{})
}
