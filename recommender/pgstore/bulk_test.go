package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

// writeFolder writes d as a data folder and returns its path.
func writeFolder(tb testing.TB, d *datasets.Dataset) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := datasets.WriteFolder(dir, d); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// openBulkStore returns a store on a fresh database and that database's URL.
func openBulkStore(tb testing.TB) (*pgstore.Store, string) {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	s, err := pgstore.Open(context.Background(), url, pgstore.Options{Migrate: true})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, url
}

// rowCounts counts the rows of every table a data folder loads into.
func rowCounts(tb testing.TB, url string) map[string]int {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	out := map[string]int{}
	for _, t := range []string{"competencies", "resources", "students", "lessons", "grades", "absences", "statements"} {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		out[t] = n
	}
	return out
}

func wantRowError(tb testing.TB, err error, file string, line int, field string) {
	tb.Helper()
	var re *datasets.Error
	if !errors.As(err, &re) {
		tb.Fatalf("error = %v, want a RowError at %s:%d %s", err, file, line, field)
	}
	if re.File != file || re.Line != line || re.Field != field {
		tb.Fatalf("error = %v, want %s:%d: %s", err, file, line, field)
	}
}

func TestIngestFolderLoadsAllThenNothingChanges(t *testing.T) {
	s, url := openBulkStore(t)
	ctx := context.Background()
	d := storetest.Fixture()
	dir := writeFolder(t, d)
	// Chunks of 2 rows: every file spans several COPYs.
	res, err := s.IngestFolder(ctx, dir, pgstore.FolderOptions{ChunkRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pupils != len(d.Students) || !res.Catalogue {
		t.Errorf("first load = %+v, want %d pupils changed and the catalogue", res, len(d.Students))
	}
	got := rowCounts(t, url)
	want := map[string]int{"competencies": len(d.Competencies), "resources": len(d.Resources), "students": len(d.Students),
		"lessons": len(d.Lessons), "grades": len(d.Grades), "absences": len(d.Absences), "statements": len(d.Statements)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s holds %d rows, want %d", k, got[k], v)
		}
	}
	again, err := s.IngestFolder(ctx, dir, pgstore.FolderOptions{ChunkRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	if again.Pupils != 0 || again.Catalogue || again.Classes != 0 {
		t.Errorf("second load of the same folder = %+v, want nothing changed", again)
	}
	// One grade changed: only its pupil changed.
	d.Grades[0].Score = d.Grades[0].OutOf / 4
	res, err = s.IngestFolder(ctx, writeFolder(t, d), pgstore.FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pupils != 1 {
		t.Errorf("after changing one grade, %d pupils changed, want 1", res.Pupils)
	}
}

// The folder is all-or-nothing: whatever file holds the bad row, and however many files
// before it were merged, nothing of the folder is stored.
func TestIngestFolderRejectsAndLoadsNothing(t *testing.T) {
	cases := []struct {
		name   string
		stored bool // the fixture is stored before the bad folder
		change func(d *datasets.Dataset)
		file   string
		line   int
		field  string
	}{
		// A statement on an unknown resource is valid xAPI, kept unmapped (see
		// TestIngestFolderMapsStatementsAndKeepsUnmapped); an invalid one fails the folder.
		{"RejectsInvalidStatementInTheLastFile", false,
			func(d *datasets.Dataset) { bad := 1.5; d.Statements[len(d.Statements)-2].Scaled = &bad },
			datasets.UsageFile, len(storetest.Fixture().Statements) - 1, "result.score.scaled"},
		{"RejectsGradeOfUnknownPupil", false,
			func(d *datasets.Dataset) { d.Grades[2].StudentID = "S-NOPE" }, datasets.GradesFile, 4, "student_id"},
		{"RejectsUnknownPrerequisite", false,
			func(d *datasets.Dataset) { d.Competencies[1].Prerequisites = []string{"C-NOPE"} }, datasets.CompetenciesFile, 3, "prerequisites"},
		{"RejectsPrerequisiteCycle", false,
			func(d *datasets.Dataset) { d.Competencies[0].Prerequisites = []string{"M5-EQ"} }, datasets.CompetenciesFile, 2, "prerequisites"},
		{"RejectsLessonOfAClassWithoutPupils", false,
			func(d *datasets.Dataset) { d.Lessons[1].ClassID = "C-EMPTY" }, datasets.LessonsFile, 3, "class_id"},
		{"RejectsIDRepeatedAcrossChunks", false,
			func(d *datasets.Dataset) { d.Grades[3].ID = d.Grades[0].ID }, datasets.GradesFile, 5, "grade_id"},
		// Conflicts with rows already stored (issue 13.3): named like bad input.
		{"RejectsGradeStoredForAnotherPupil", true,
			func(d *datasets.Dataset) { d.Grades[1].StudentID = "S3" }, datasets.GradesFile, 3, "student_id"},
		{"RejectsAbsenceStoredForAnotherPupil", true,
			func(d *datasets.Dataset) { d.Absences[0].StudentID = "S4" }, datasets.AbsencesFile, 2, "student_id"},
		{"RejectsStatementStoredWithOtherContent", true,
			func(d *datasets.Dataset) { d.Statements[0].Timestamp = d.Statements[0].Timestamp.Add(time.Minute) }, datasets.UsageFile, 1, "id"},
		{"RejectsStoredIDRepeatedInTheFile", true,
			func(d *datasets.Dataset) { d.Absences = append(d.Absences, d.Absences[0]) }, datasets.AbsencesFile, len(storetest.Fixture().Absences) + 2, "absence_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, url := openBulkStore(t)
			ctx := context.Background()
			if tc.stored {
				if _, err := s.IngestFolder(ctx, writeFolder(t, storetest.Fixture()), pgstore.FolderOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			before := rowCounts(t, url)
			d := storetest.Fixture()
			tc.change(d)
			// Changes in earlier files that must not survive the failure.
			d.Students = append(d.Students, datasets.Student{ID: "S-NEW", SchoolID: storetest.SchoolA, ClassID: storetest.Class6A, Level: "6e", Consent: true})
			d.Students[0].Consent = !d.Students[0].Consent
			_, err := s.IngestFolder(ctx, writeFolder(t, d), pgstore.FolderOptions{ChunkRows: 2})
			wantRowError(t, err, tc.file, tc.line, tc.field)
			if !errors.Is(err, datasets.ErrInvalid) && !errors.Is(err, datasets.ErrConflict) {
				t.Errorf("error %v is neither bad input nor a conflict", err)
			}
			after := rowCounts(t, url)
			for k, v := range before {
				if after[k] != v {
					t.Errorf("%s: %d rows before the refused folder, %d after", k, v, after[k])
				}
			}
			if tc.stored {
				st, err := s.Student(ctx, d.Students[0].ID)
				if err != nil {
					t.Fatal(err)
				}
				if st.Consent == d.Students[0].Consent {
					t.Error("students.csv of the refused folder was applied")
				}
			}
		})
	}
}

// indexNames lists the indexes of a table, sorted.
func indexNames(tb testing.TB, url, table string) []string {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`, table)
	if err != nil {
		tb.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

// bigGrades returns the fixture with n grades spread over its pupils.
func bigGrades(n int) *datasets.Dataset {
	d := storetest.Fixture()
	g0 := d.Grades[0]
	d.Grades = d.Grades[:0]
	for i := range n {
		g := g0
		g.ID = fmt.Sprintf("GB-%07d", i)
		g.StudentID = d.Students[i%len(d.Students)].ID
		g.Date = g0.Date.Add(time.Duration(i) * time.Minute)
		d.Grades = append(d.Grades, g)
	}
	return d
}

// A load that doubles a table rebuilds its indexes; they must all be back, and a repeated
// id must still be found (by the rebuilt primary key) at its line.
func TestIngestFolderRebuildsIndexesOfALoadThatDoublesATable(t *testing.T) {
	if testing.Short() {
		t.Skip("60,000 grades")
	}
	s, url := openBulkStore(t)
	ctx := context.Background()
	want := indexNames(t, url, "grades")
	d := bigGrades(60_000)
	d.Grades[59_000].ID = d.Grades[100].ID
	_, err := s.IngestFolder(ctx, writeFolder(t, d), pgstore.FolderOptions{})
	wantRowError(t, err, datasets.GradesFile, 59_002, "grade_id")
	d = bigGrades(60_000)
	if _, err := s.IngestFolder(ctx, writeFolder(t, d), pgstore.FolderOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := indexNames(t, url, "grades"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("indexes of grades after the load = %v, want %v", got, want)
	}
	if n := rowCounts(t, url)["grades"]; n != 60_000 {
		t.Errorf("grades holds %d rows, want 60000", n)
	}
}

// classes.csv, optional, is loaded with the folder.
func TestIngestFolderStoresClassLabels(t *testing.T) {
	s, url := openBulkStore(t)
	ctx := context.Background()
	dir := writeFolder(t, storetest.Fixture())
	f, err := os.Create(filepath.Join(dir, datasets.ClassesFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteClasses(f, []datasets.Class{{ID: storetest.Class6A, SchoolID: storetest.SchoolA, Label: "6e A"}}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := s.IngestFolder(ctx, dir, pgstore.FolderOptions{}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var label string
	if err := conn.QueryRow(ctx, `SELECT label FROM classes WHERE id = $1`, storetest.Class6A).Scan(&label); err != nil || label != "6e A" {
		t.Fatalf("class label %q, %v; want 6e A", label, err)
	}
}

// Rows about an erased pupil (d13's tombstones) and rows dated in the future are refused
// at their line in the file, whatever chunk they fall in.
func TestIngestFolderRefusesErasedPupilsAndFutureDates(t *testing.T) {
	s, _ := openBulkStore(t)
	ctx := context.Background()
	if _, err := s.IngestFolder(ctx, writeFolder(t, storetest.Fixture()), pgstore.FolderOptions{}); err != nil {
		t.Fatal(err)
	}
	d := storetest.Fixture()
	erased := d.Grades[3].StudentID
	if err := s.DeleteStudent(ctx, erased); err != nil {
		t.Fatal(err)
	}
	_, err := s.IngestFolder(ctx, writeFolder(t, d), pgstore.FolderOptions{ChunkRows: 2})
	var e *datasets.Error
	if !errors.As(err, &e) || e.File == "" || e.Line < 2 || !errors.Is(err, datasets.ErrConflict) {
		t.Fatalf("re-ingest of an erased pupil: %v, want a conflict naming file and line", err)
	}
	d = storetest.Fixture()
	d.Students = slicesDeleteID(d.Students, erased)
	d.Grades, d.Absences, d.Statements = nil, nil, nil
	d.Grades = storetest.Fixture().Grades[:0]
	for _, g := range storetest.Fixture().Grades {
		if g.StudentID != erased {
			d.Grades = append(d.Grades, g)
		}
	}
	d.Grades[2].Date = time.Now().Add(72 * time.Hour)
	_, err = s.IngestFolder(ctx, writeFolder(t, d), pgstore.FolderOptions{ChunkRows: 2, Future: time.Now().Add(24 * time.Hour)})
	wantRowError(t, err, datasets.GradesFile, 4, "date")
}

func slicesDeleteID(ss []datasets.Student, id string) []datasets.Student {
	var out []datasets.Student
	for _, s := range ss {
		if s.ID != id {
			out = append(out, s)
		}
	}
	return out
}

// A folder's usage.jsonl maps statements as POST /xapi/statements does: actors by
// mailbox, activities by URL; valid statements about unknown pupils or activities are
// kept as unmapped, not refused.
func TestIngestFolderMapsStatementsAndKeepsUnmapped(t *testing.T) {
	s, url := openBulkStore(t)
	ctx := context.Background()
	d := storetest.Fixture()
	d.Students[0].Mbox = "mailto:eleve.zero@example.org"
	d.Resources[0].URL = "https://moodle.example.org/mod/h5pactivity/view.php?id=42"
	dir := writeFolder(t, d)
	before := len(d.Statements)
	f, err := os.OpenFile(filepath.Join(dir, datasets.UsageFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`{"actor":{"mbox":"mailto:eleve.zero@example.org"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://moodle.example.org/mod/h5pactivity/view.php?id=42"},"timestamp":"2024-01-10T10:00:00Z"}`,
		`{"actor":{"account":{"homePage":"https://ent.example.org","name":"nobody-here"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://moodle.example.org/mod/h5pactivity/view.php?id=42"},"timestamp":"2024-01-10T10:00:00Z"}`,
		`{"actor":{"mbox":"mailto:eleve.zero@example.org"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://moodle.example.org/mod/quiz/view.php?id=999"},"timestamp":"2024-01-10T10:00:00Z"}`,
	} {
		if _, err := f.WriteString(line + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	res, err := s.IngestFolder(ctx, dir, pgstore.FolderOptions{})
	if err != nil {
		t.Fatalf("IngestFolder: %v", err)
	}
	if res.Unmapped != 2 {
		t.Errorf("Unmapped = %d, want 2", res.Unmapped)
	}
	if got := rowCounts(t, url)["statements"]; got != before+1 {
		t.Errorf("statements = %d, want %d (the fixture's and the mailbox one)", got, before+1)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM unmapped_statements`).Scan(&n); err != nil || n != 2 {
		t.Errorf("unmapped_statements = %d, %v; want 2", n, err)
	}
	var who string
	if err := conn.QueryRow(ctx, `SELECT student_id FROM statements WHERE object_id = $1 AND student_id = $2 LIMIT 1`,
		d.Resources[0].ID, d.Students[0].ID).Scan(&who); err != nil {
		t.Errorf("the mailbox statement is not attached to %s: %v", d.Students[0].ID, err)
	}
}
