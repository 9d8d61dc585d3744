package datasets

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func ptr[T any](v T) *T { return &v }

func at0(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t.UTC()
}

// sampleDataset is a small consistent folder with the awkward values a writer must
// quote or format: commas, quotes and accents in text, fractions, statuses, voiding.
func sampleDataset(tb testing.TB) *Dataset {
	tb.Helper()
	return &Dataset{
		Competencies: []Competency{
			{ID: "M.NUM.1", Subject: "MATHS", Level: "6e", Label: "Nombres entiers, décimaux", Prerequisites: nil},
			{ID: "M.NUM.2", Subject: "MATHS", Level: "5e", Label: `Fractions "simples"`, Prerequisites: []string{"M.NUM.1"}},
			{ID: "F.LEC.1", Subject: "FRANCAIS", Level: "6e", Label: "Lire un texte", Prerequisites: nil},
			{ID: "M.NUM.3", Subject: "MATHS", Level: "4e", Label: "Puissances", Prerequisites: []string{"M.NUM.1", "M.NUM.2"}},
		},
		Resources: []Resource{
			{ID: "R1", Title: "Vidéo : les fractions, pas à pas", Subject: "MATHS", Level: "5e", Type: ResourceVideo, Competencies: []string{"M.NUM.2"}, Difficulty: -0.75, DurationMin: 8},
			{ID: "R2", Title: "Quiz", Subject: "MATHS", Level: "4e", Type: ResourceQuiz, Competencies: []string{"M.NUM.2", "M.NUM.3"}, Difficulty: 1.2345678901234567, DurationMin: 15},
			{ID: "R3", Title: "Fiche de lecture", Subject: "FRANCAIS", Level: "6e", Type: ResourceSheet, Competencies: []string{"F.LEC.1"}, Difficulty: 0, DurationMin: 0},
		},
		Students: []Student{
			{ID: "S1", SchoolID: "0750001A", ClassID: "5eB", Level: "5e", Consent: true},
			{ID: "S2", SchoolID: "0750001A", ClassID: "5eB", Level: "5e", Consent: false},
			{ID: "S3", SchoolID: "0750002B", ClassID: "6eA", Level: "6e", Consent: true},
		},
		Lessons: []Lesson{
			{ID: "L1", ClassID: "5eB", Subject: "MATHS", Competencies: []string{"M.NUM.2"}, Start: at0(tb, "2024-01-08T08:00:00Z"), End: at0(tb, "2024-01-08T09:00:00Z")},
			{ID: "L2", ClassID: "6eA", Subject: "FRANCAIS", Competencies: nil, Start: at0(tb, "2024-01-08T10:00:00.5Z"), End: at0(tb, "2024-01-08T11:00:00Z")},
		},
		Grades: []Grade{
			{ID: "G1", StudentID: "S1", Subject: "MATHS", Competencies: []string{"M.NUM.2"}, AssessmentID: "A1", Date: at0(tb, "2024-01-12T00:00:00Z"), Score: 13.5, OutOf: 20, Coefficient: 1},
			{ID: "G2", StudentID: "S2", Subject: "MATHS", Competencies: []string{"M.NUM.2", "M.NUM.1"}, AssessmentID: "A1", Date: at0(tb, "2024-01-12T00:00:00Z"), OutOf: 20, Coefficient: 1, Status: StatusAbsent},
			{ID: "G3", StudentID: "S3", Subject: "FRANCAIS", Competencies: nil, AssessmentID: "A2", Date: at0(tb, "2024-01-15T14:30:00Z"), Score: 0, OutOf: 10, Coefficient: 0.5},
			{ID: "G4", StudentID: "S1", Subject: "MATHS", Competencies: []string{"M.NUM.3"}, AssessmentID: "A3", Date: at0(tb, "2024-02-01T00:00:00Z"), OutOf: 20, Coefficient: 2, Status: StatusNonRendu},
		},
		Absences: []Absence{
			{ID: "AB1", StudentID: "S2", Start: at0(tb, "2024-01-12T08:00:00Z"), End: at0(tb, "2024-01-12T12:00:00Z"), Justified: true},
			{ID: "AB2", StudentID: "S3", Start: at0(tb, "2024-01-13T08:00:00Z"), End: at0(tb, "2024-01-13T09:00:00Z"), Justified: false},
		},
		Statements: []Statement{
			{ID: "0d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b", StudentID: "S1", Verb: VerbCompleted, ObjectID: "R1", Timestamp: at0(tb, "2024-01-10T17:00:00Z"),
				Scaled: ptr(0.8), Success: ptr(true), Completion: ptr(true), Duration: ptr(8*time.Minute + 3500*time.Millisecond)},
			{ID: "1d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b", StudentID: "S1", Verb: VerbViewed, ObjectID: "R2", Timestamp: at0(tb, "2024-01-10T17:10:00.25Z")},
			{ID: "2d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b", StudentID: "S3", Verb: "https://example.org/verbs/bookmarked", ObjectID: "R3", Timestamp: at0(tb, "2024-01-11T09:00:00Z"), Scaled: ptr(-1.0)},
			{ID: "3d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b", StudentID: "S1", Verb: VerbVoided, ObjectID: "1d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b", Timestamp: at0(tb, "2024-01-11T10:00:00Z")},
		},
	}
}

func TestWriteFolderThenLoadFolderGivesBackTheSameDataset(t *testing.T) {
	want := sampleDataset(t)
	dir := t.TempDir()
	if err := WriteFolder(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadFolder(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("round trip changed the dataset (-want +got):\n%s", diff)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

func TestWriteFolderIsByteForByteDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if err := WriteFolder(a, sampleDataset(t)); err != nil {
		t.Fatal(err)
	}
	if err := WriteFolder(b, sampleDataset(t)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{CompetenciesFile, ResourcesFile, StudentsFile, LessonsFile, GradesFile, AbsencesFile, UsageFile} {
		x, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		y, _ := os.ReadFile(filepath.Join(b, name))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two writes of the same dataset", name)
		}
	}
}

// roundTrip writes xs with write and reads them back with readAll.
func roundTrip[T any](tb testing.TB, xs []T, write func(*bytes.Buffer, []T) error, readAll func(*bytes.Buffer) ([]T, error)) {
	tb.Helper()
	var buf bytes.Buffer
	if err := write(&buf, xs); err != nil {
		tb.Fatal(err)
	}
	got, err := readAll(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	if diff := cmp.Diff(xs, got, ignoreRef); diff != "" {
		tb.Fatalf("round trip (-want +got):\n%s", diff)
	}
}

func TestEveryTypeRoundTripsThroughItsWriterAndReader(t *testing.T) {
	d := sampleDataset(t)
	t.Run("Competencies", func(t *testing.T) {
		roundTrip(t, d.Competencies, func(b *bytes.Buffer, x []Competency) error { return WriteCompetencies(b, x) },
			func(b *bytes.Buffer) ([]Competency, error) { return ReadCompetenciesAll(b, CompetenciesFile) })
	})
	t.Run("Resources", func(t *testing.T) {
		roundTrip(t, d.Resources, func(b *bytes.Buffer, x []Resource) error { return WriteResources(b, x) },
			func(b *bytes.Buffer) ([]Resource, error) { return ReadResourcesAll(b, ResourcesFile) })
	})
	t.Run("Students", func(t *testing.T) {
		roundTrip(t, d.Students, func(b *bytes.Buffer, x []Student) error { return WriteStudents(b, x) },
			func(b *bytes.Buffer) ([]Student, error) { return readAll(b, StudentsFile, ReadStudents) })
	})
	t.Run("Lessons", func(t *testing.T) {
		roundTrip(t, d.Lessons, func(b *bytes.Buffer, x []Lesson) error { return WriteLessons(b, x) },
			func(b *bytes.Buffer) ([]Lesson, error) { return readAll(b, LessonsFile, ReadLessons) })
	})
	t.Run("Grades", func(t *testing.T) {
		roundTrip(t, d.Grades, func(b *bytes.Buffer, x []Grade) error { return WriteGrades(b, x) },
			func(b *bytes.Buffer) ([]Grade, error) { return readAll(b, GradesFile, ReadGrades) })
	})
	t.Run("Absences", func(t *testing.T) {
		roundTrip(t, d.Absences, func(b *bytes.Buffer, x []Absence) error { return WriteAbsences(b, x) },
			func(b *bytes.Buffer) ([]Absence, error) { return readAll(b, AbsencesFile, ReadAbsences) })
	})
	t.Run("Statements", func(t *testing.T) {
		roundTrip(t, d.Statements, func(b *bytes.Buffer, x []Statement) error { return WriteStatements(b, x) },
			func(b *bytes.Buffer) ([]Statement, error) { return ReadStatementsAll(b, UsageFile) })
	})
}

func TestRecordEncodersGiveTheDocumentedText(t *testing.T) {
	d := sampleDataset(t)
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"CompetencyJoinsPrerequisitesWithSemicolons", d.Competencies[3].Record(), []string{"M.NUM.3", "MATHS", "4e", "Puissances", "M.NUM.1;M.NUM.2"}},
		{"ResourceWritesShortestRoundTrippingFloat", d.Resources[1].Record(), []string{"R2", "Quiz", "MATHS", "4e", "quiz", "M.NUM.2;M.NUM.3", "1.2345678901234567", "15", "", ""}},
		{"StudentWritesConsentAsFalse", d.Students[1].Record(), []string{"S2", "0750001A", "5eB", "5e", "false", "", ""}},
		{"LessonWritesUTCWithSubSecondOnlyWhenPresent", d.Lessons[1].Record(), []string{"L2", "6eA", "FRANCAIS", "", "2024-01-08T10:00:00.5Z", "2024-01-08T11:00:00Z"}},
		{"GradeWithStatusHasEmptyScore", d.Grades[1].Record(), []string{"G2", "S2", "MATHS", "M.NUM.2;M.NUM.1", "A1", "2024-01-12T00:00:00Z", "", "20", "1", "absent"}},
		{"GradeMarkOfZeroIsWritten", d.Grades[2].Record(), []string{"G3", "S3", "FRANCAIS", "", "A2", "2024-01-15T14:30:00Z", "0", "10", "0.5", ""}},
		{"AbsenceWritesJustifiedTrue", d.Absences[0].Record(), []string{"AB1", "S2", "2024-01-12T08:00:00Z", "2024-01-12T12:00:00Z", "true"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestMarshalXAPIWritesFixedKeyOrder(t *testing.T) {
	d := sampleDataset(t)
	tests := []struct {
		name string
		st   Statement
		want string
	}{
		{"FullResult", d.Statements[0], `{"id":"0d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b","actor":{"objectType":"Agent","account":{"homePage":"https://ent.parcours.fr","name":"S1"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"objectType":"Activity","id":"R1"},"result":{"score":{"scaled":0.8},"success":true,"completion":true,"duration":"PT8M3.5S"},"timestamp":"2024-01-10T17:00:00Z"}`},
		{"NoResult", d.Statements[1], `{"id":"1d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b","actor":{"objectType":"Agent","account":{"homePage":"https://ent.parcours.fr","name":"S1"}},"verb":{"id":"http://id.tincanapi.com/verb/viewed"},"object":{"objectType":"Activity","id":"R2"},"timestamp":"2024-01-10T17:10:00.25Z"}`},
		{"VoidingObjectIsStatementRef", d.Statements[3], `{"id":"3d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b","actor":{"objectType":"Agent","account":{"homePage":"https://ent.parcours.fr","name":"S1"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/voided"},"object":{"objectType":"StatementRef","id":"1d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b"},"timestamp":"2024-01-11T10:00:00Z"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.st.MarshalXAPI()
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", b, tc.want)
			}
		})
	}
	t.Run("RejectsNaNScore", func(t *testing.T) {
		st := d.Statements[1]
		st.Scaled = ptr(nanValue())
		if _, err := st.MarshalXAPI(); err == nil {
			t.Fatal("NaN scaled score was encoded")
		}
	})
}

func TestMarshalXAPIEscapesAndReadsBackAwkwardStrings(t *testing.T) {
	st := sampleDataset(t).Statements[1]
	st.StudentID = `élève<&>`
	st.ObjectID = `https://ent.example.fr/r?a="1"&b=\x`
	b, err := st.MarshalXAPI()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseStatementJSON(b, time.Time{})
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if diff := cmp.Diff(st, back, ignoreRef); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// ignoreRef leaves out how a reader saw the actor and activity: a Go-built statement has
// none.
var ignoreRef = cmpopts.IgnoreFields(Statement{}, "Ref")
