package datasets

import (
	"testing"
	"time"
)

func TestCheckValidatesValuesLikeTheReaders(t *testing.T) {
	d := sampleDataset(t)
	lim := Limits{}
	t.Run("AcceptsTheSample", func(t *testing.T) {
		for _, err := range []error{
			lim.CheckCompetencies("competencies", d.Competencies), lim.CheckResources("resources", d.Resources),
			lim.CheckStudents("students", d.Students), lim.CheckLessons("lessons", d.Lessons),
			lim.CheckGrades("grades", d.Grades), lim.CheckAbsences("absences", d.Absences),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	tests := []struct {
		name  string
		err   func() error
		file  string
		line  int
		field string
	}{
		{"RejectsScoreAboveOutOf", func() error {
			g := append([]Grade(nil), d.Grades...)
			g[2].Score = 11
			return lim.CheckGrades("grades", g)
		}, "grades", 3, "score"},
		{"RejectsDuplicateStudent", func() error {
			return lim.CheckStudents("students", append(append([]Student(nil), d.Students...), d.Students[0]))
		}, "students", 4, "student_id"},
		{"RejectsMissingDate", func() error {
			g := append([]Grade(nil), d.Grades...)
			g[0].Date = time.Time{}
			return lim.CheckGrades("grades", g)
		}, "grades", 1, "date"},
		{"RejectsUnknownLevel", func() error {
			r := append([]Resource(nil), d.Resources...)
			r[1].Level = "terminale"
			return lim.CheckResources("resources", r)
		}, "resources", 2, "level"},
		{"RejectsAbsenceEndingBeforeItStarts", func() error {
			a := append([]Absence(nil), d.Absences...)
			a[1].End = a[1].Start.Add(-time.Hour)
			return lim.CheckAbsences("absences", a)
		}, "absences", 2, "end"},
		{"RejectsBatchOverMaxRows", func() error {
			return Limits{MaxRows: 2}.CheckLessons("lessons", append(d.Lessons, d.Lessons[0]))
		}, "lessons", 3, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantRowError(t, tc.err(), tc.file, tc.line, tc.field)
		})
	}
}
