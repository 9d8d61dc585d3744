package datasets

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func writeSample(tb testing.TB, mutate func(*Dataset)) string {
	tb.Helper()
	d := sampleDataset(tb)
	if mutate != nil {
		mutate(d)
	}
	dir := tb.TempDir()
	if err := WriteFolder(dir, d); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func TestLoadFolderRejectsBrokenReferencesNamingFileLineAndField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Dataset)
		file   string
		line   int
		field  string
	}{
		{"RejectsUnknownPrerequisite", func(d *Dataset) { d.Competencies[1].Prerequisites = []string{"NOPE"} }, CompetenciesFile, 3, "prerequisites"},
		{"RejectsPrerequisiteCycle", func(d *Dataset) { d.Competencies[0].Prerequisites = []string{"M.NUM.3"} }, CompetenciesFile, 2, "prerequisites"},
		{"RejectsResourceWithUnknownCompetency", func(d *Dataset) { d.Resources[2].Competencies = []string{"F.LEC.1", "X"} }, ResourcesFile, 4, "competencies"},
		{"RejectsLessonOfAClassWithoutStudents", func(d *Dataset) { d.Lessons[1].ClassID = "3eZ" }, LessonsFile, 3, "class_id"},
		{"RejectsLessonWithUnknownCompetency", func(d *Dataset) { d.Lessons[0].Competencies = []string{"X"} }, LessonsFile, 2, "competencies"},
		{"RejectsGradeOfUnknownStudent", func(d *Dataset) { d.Grades[3].StudentID = "S9" }, GradesFile, 5, "student_id"},
		{"RejectsGradeWithUnknownCompetency", func(d *Dataset) { d.Grades[0].Competencies = []string{"X"} }, GradesFile, 2, "competencies"},
		{"RejectsAbsenceOfUnknownStudent", func(d *Dataset) { d.Absences[1].StudentID = "S9" }, AbsencesFile, 3, "student_id"},
		{"RejectsVoidingAVoidingStatement", func(d *Dataset) {
			v := d.Statements[3]
			v.ID, v.ObjectID = "4d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b", d.Statements[3].ID
			d.Statements = append(d.Statements, v)
		}, UsageFile, 5, "object.id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFolder(writeSample(t, tc.mutate), LoadOptions{})
			wantRowError(t, err, tc.file, tc.line, tc.field)
		})
	}
}

func TestLoadFolderKeepsValidStatementsItCannotMapAsUnmapped(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Dataset)
		reason string
	}{
		{"KeepsStatementOfUnknownStudent", func(d *Dataset) { d.Statements[2].StudentID = "S9" }, UnmappedActor},
		{"KeepsStatementOnUnknownResource", func(d *Dataset) { d.Statements[1].ObjectID = "R9" }, UnmappedActivity},
		{"KeepsVoidingAStatementNotInTheFile", func(d *Dataset) { d.Statements[3].ObjectID = "ffffffff-8f5b-4c1e-9a2b-3c4d5e6f7a8b" }, UnmappedTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := sampleDataset(t)
			got, err := LoadFolder(writeSample(t, tc.mutate), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// A statement voiding an unmapped one is unmapped too.
			if len(got.Unmapped) == 0 || got.Unmapped[0].Reason != tc.reason {
				t.Fatalf("unmapped %+v, want the first with reason %s", got.Unmapped, tc.reason)
			}
			if len(got.Statements)+len(got.Unmapped) != len(want.Statements) {
				t.Fatalf("%d statements mapped and %d unmapped, want %d in all", len(got.Statements), len(got.Unmapped), len(want.Statements))
			}
		})
	}
}

func TestLoadFolderRequiresOnlyTheCatalogueAndStudents(t *testing.T) {
	for _, name := range []string{CompetenciesFile, ResourcesFile, StudentsFile} {
		t.Run("RejectsMissing"+name, func(t *testing.T) {
			dir := writeSample(t, nil)
			os.Remove(filepath.Join(dir, name))
			_, err := LoadFolder(dir, LoadOptions{})
			wantRowError(t, err, name, 0, "")
		})
	}
	t.Run("AcceptsMissingEventFiles", func(t *testing.T) {
		dir := writeSample(t, nil)
		for _, name := range []string{LessonsFile, GradesFile, AbsencesFile, UsageFile} {
			os.Remove(filepath.Join(dir, name))
		}
		d, err := LoadFolder(dir, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Students) != 3 || len(d.Grades) != 0 || len(d.Statements) != 0 {
			t.Fatalf("got %d students, %d grades, %d statements; want 3, 0, 0", len(d.Students), len(d.Grades), len(d.Statements))
		}
	})
}

func TestLoadFolderNeverReadsTruth(t *testing.T) {
	dir := writeSample(t, nil)
	truth := filepath.Join(dir, "truth")
	if err := os.Mkdir(truth, 0o700); err != nil {
		t.Fatal(err)
	}
	// Unreadable and invalid: any attempt to read it would fail the load.
	if err := os.WriteFile(filepath.Join(truth, GradesFile), []byte("garbage\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFolder(dir, LoadOptions{}); err != nil {
		t.Fatalf("LoadFolder touched truth/: %v", err)
	}
}

func TestLoadFolderAppliesLimits(t *testing.T) {
	// The sample has 4 competencies: the fifth line is the fourth row, one too many.
	_, err := LoadFolder(writeSample(t, nil), LoadOptions{Limits: Limits{MaxRows: 3}})
	wantRowError(t, err, CompetenciesFile, 5, "")
}

func TestValidateFileChecksOneFileByItsName(t *testing.T) {
	dir := writeSample(t, nil)
	tests := []struct {
		name string
		rows int
	}{
		{CompetenciesFile, 4}, {ResourcesFile, 3}, {StudentsFile, 3}, {LessonsFile, 2},
		{GradesFile, 4}, {AbsencesFile, 2}, {UsageFile, 4},
	}
	for _, tc := range tests {
		t.Run("Counts"+tc.name, func(t *testing.T) {
			n, err := ValidateFile(filepath.Join(dir, tc.name), Limits{})
			if err != nil || n != tc.rows {
				t.Fatalf("got %d rows, %v; want %d", n, err, tc.rows)
			}
		})
	}
	t.Run("RejectsUnknownFileName", func(t *testing.T) {
		p := filepath.Join(dir, "medical.csv")
		os.WriteFile(p, []byte("x\n"), 0o600)
		_, err := ValidateFile(p, Limits{})
		wantRowError(t, err, "medical.csv", 0, "")
	})
	t.Run("RejectsBadRow", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), StudentsFile)
		os.WriteFile(p, []byte("student_id,school_id,class_id,level,consent\nS1,E1,C1,CP,true\n"), 0o600)
		_, err := ValidateFile(p, Limits{})
		wantRowError(t, err, StudentsFile, 2, "level")
	})
	t.Run("MissingFileIsNotBadInput", func(t *testing.T) {
		_, err := ValidateFile(filepath.Join(dir, "nope", GradesFile), Limits{})
		if err == nil || errors.Is(err, ErrInvalid) {
			t.Fatalf("got %v, want an I/O error that is not ErrInvalid", err)
		}
	})
}

func TestWriteFolderLeavesNothingPartialOnFailure(t *testing.T) {
	d := sampleDataset(t)
	d.Statements[0].Scaled = ptr(nanValue())
	dir := t.TempDir()
	if err := WriteFolder(dir, d); err == nil {
		t.Fatal("WriteFolder wrote a NaN score")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("WriteFolder left %d entries after failing, want none", len(entries))
	}
}

// testdata/excel is a folder as spreadsheet tools and LRSs write it: a BOM, CRLF, every
// field quoted, doubled quotes, columns in another order, TRUE, date-only dates, a
// Pronote status spelling, and xAPI properties Parcours does not keep.
func TestLoadFolderReadsFilesAsOtherToolsWriteThem(t *testing.T) {
	d, err := LoadFolder(filepath.Join("testdata", "excel"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"UnquotesDoubledQuotes", d.Competencies[1].Label, `Fractions "égales"`},
		{"ReadsExponentFloats", d.Resources[1].Difficulty, 0.1},
		{"ReadsReorderedColumnsAndTRUE", d.Students[0], Student{ID: "S1", SchoolID: "0750001A", ClassID: "5eB", Level: "5e", Consent: true}},
		{"ConvertsOffsetsToUTC", FormatTime(d.Lessons[0].Start), "2024-01-08T08:00:00Z"},
		{"ReadsDateOnlyAsMidnightUTC", FormatTime(d.Grades[0].Date), "2024-01-12T00:00:00Z"},
		{"MapsPronoteStatusSpelling", d.Grades[1].Status, StatusAbsent},
		{"KeepsOnlyContractFieldsOfStatements", len(d.Statements), 1},
		{"ReadsStatementDuration", *d.Statements[0].Duration, 5*time.Minute + 30*time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadFolderReadsNamesAndClassLabels(t *testing.T) {
	named := func(d *Dataset) {
		d.Students[0].DisplayName, d.Students[0].Mbox = "Anne Élève", "mailto:anne@example.fr"
		d.Classes = []Class{{ID: "5eB", SchoolID: "0750001A", Label: "5e B"}, {ID: "4eC", SchoolID: "0750001A", Label: "4e C (sans élève)"}}
	}
	got, err := LoadFolder(writeSample(t, named), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Students[0]; s.DisplayName != "Anne Élève" || s.Mbox != "mailto:anne@example.fr" || got.Students[1].DisplayName != "" {
		t.Fatalf("students read back as %+v", got.Students[:2])
	}
	if len(got.Classes) != 2 || got.Classes[0].Label != "5e B" {
		t.Fatalf("classes read back as %+v", got.Classes)
	}
	t.Run("FilesWithoutTheColumnsStayValid", func(t *testing.T) {
		dir := writeSample(t, nil)
		body := "student_id,school_id,class_id,level,consent\nS1,0750001A,5eB,5e,true\n"
		if err := os.WriteFile(filepath.Join(dir, StudentsFile), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ValidateFile(filepath.Join(dir, StudentsFile), DefaultLimits); err != nil {
			t.Fatal(err)
		}
	})
	tests := []struct {
		name   string
		mutate func(*Dataset)
		file   string
		line   int
		field  string
	}{
		{"RejectsMailboxThatIsNotOne", func(d *Dataset) { d.Students[1].Mbox = "mailto:nobody" }, StudentsFile, 3, "mbox"},
		{"RejectsControlCharacterInName", func(d *Dataset) { d.Students[2].DisplayName = "Anne\x07" }, StudentsFile, 4, "display_name"},
		{"RejectsClassLabelledTwice", func(d *Dataset) {
			d.Classes = []Class{{ID: "5eB", SchoolID: "0750001A", Label: "5e B"}, {ID: "5eB", SchoolID: "0750001A", Label: "5e B bis"}}
		}, ClassesFile, 3, "class_id"},
		{"RejectsClassOfAnotherSchoolThanItsPupils", func(d *Dataset) {
			d.Classes = []Class{{ID: "6eA", SchoolID: "0750001A", Label: "6e A"}}
		}, ClassesFile, 2, "school_id"},
		{"RejectsEmptyLabel", func(d *Dataset) { d.Classes = []Class{{ID: "6eA", SchoolID: "0750002B"}} }, ClassesFile, 2, "label"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFolder(writeSample(t, tc.mutate), LoadOptions{})
			wantRowError(t, err, tc.file, tc.line, tc.field)
		})
	}
}
