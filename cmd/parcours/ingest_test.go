package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// editLine rewrites line n (1-based) of a data-folder file.
func editLine(tb testing.TB, path string, n int, edit func(string) string) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	lines[n-1] = edit(lines[n-1])
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func countLines(tb testing.TB, path string) int {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Count(strings.TrimRight(string(b), "\n"), "\n") + 1
}

// The whole folder is one transaction (issue 13.3): a bad row in the last file, or a
// conflict with a stored row, exits 2 naming file, line and field, and nothing of any
// file of the folder stays, not even of the files merged before the bad one.
func TestIngestRefusedFolderLeavesNothingOfAnyFile(t *testing.T) {
	url := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	base := filepath.Join(t.TempDir(), "a")
	if code, _, stderr := runCLI(t, "generate", "--out", base, "--students", "40", "--seed", "5"); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	code, stdout, stderr := runCLI(t, "ingest", "--data", base, "--json", "--no-refit")
	if code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	var first ingestSummary
	if err := json.Unmarshal([]byte(stdout), &first); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		edit  func(dir string)
		where string
	}{
		{"RejectsBadTimestampOnTheLastLineOfTheLastFile", func(dir string) {
			p := filepath.Join(dir, "usage.jsonl")
			n := countLines(t, p)
			editLine(t, p, n, func(l string) string {
				i := strings.Index(l, `"timestamp":"`)
				return l[:i] + `"timestamp":"hier"}`
			})
		}, "usage.jsonl:"},
		{"RejectsGradeStoredForAnotherPupil", func(dir string) {
			editLine(t, filepath.Join(dir, "grades.csv"), 4, func(l string) string {
				f := strings.Split(l, ",")
				f[1] = "eleve-000002"
				if strings.HasPrefix(l, "eleve-000002") {
					f[1] = "eleve-000003"
				}
				return strings.Join(f, ",")
			})
		}, "grades.csv:4: student_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			if code, _, stderr := runCLI(t, "generate", "--out", dir, "--students", "40", "--seed", "5"); code != 0 {
				t.Fatalf("generate: %s", stderr)
			}
			// An earlier file's change that must not survive: one more pupil.
			sp := filepath.Join(dir, "students.csv")
			editLine(t, sp, 2, func(l string) string {
				f := strings.Split(l, ",")
				f[0] = "eleve-nouveau"
				return l + "\n" + strings.Join(f, ",")
			})
			tc.edit(dir)
			code, _, stderr := runCLI(t, "ingest", "--data", dir)
			if code != exitBadUse || !strings.Contains(stderr, tc.where) {
				t.Fatalf("exit %d, stderr %q: want 2 naming %s", code, stderr, tc.where)
			}
			assertRowCounts(t, url, first.Files)
		})
	}
}
