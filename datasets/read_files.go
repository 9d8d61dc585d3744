package datasets

import (
	"io"
	"strings"
)

// Readers stream a file row by row: fn sees each value once it is fully validated, and
// the first bad row stops the read with a *Error naming file, line and field. name is
// the file name used in errors (usually the base name, e.g. "grades.csv").

// Bounds of the numeric columns.
const (
	MinDifficulty  = -10.0 // logits: beyond ±10 no pupil's success odds change any more
	MaxDifficulty  = 10.0
	MaxDurationMin = 10000
	MaxOutOf       = 1000.0
	MaxCoefficient = 100.0
)

func parseCompetency(r *row) Competency {
	c := Competency{ID: r.id(0), Subject: r.code(1), Level: r.level(2), Label: r.text(3), Prerequisites: r.list(4, false)}
	for _, p := range c.Prerequisites {
		if p == c.ID {
			r.fail(4, "competency %q is its own prerequisite", p)
		}
	}
	return c
}

func parseResource(r *row) Resource {
	x := Resource{ID: r.id(0), Title: r.text(1), Subject: r.code(2), Level: r.level(3), Type: r.code(4),
		Competencies: r.list(5, true), Difficulty: r.number(6, MinDifficulty, MaxDifficulty),
		DurationMin: r.integer(7, 0, MaxDurationMin), URL: r.launchURL(8), AltIDs: r.altIDs(9)}
	for _, a := range x.AltIDs {
		if a == x.ID || a == x.URL {
			r.fail(9, "%q is already the resource's id or url", truncate(a))
		}
	}
	return x
}

func parseStudent(r *row) Student {
	return Student{ID: r.id(0), SchoolID: r.id(1), ClassID: r.id(2), Level: r.level(3), Consent: r.boolean(4),
		DisplayName: r.optText(5), Mbox: r.mbox(6)}
}

func parseClass(r *row) Class {
	return Class{ID: r.id(0), SchoolID: r.id(1), Label: r.text(2)}
}

func parseLesson(r *row) Lesson {
	l := Lesson{ID: r.id(0), ClassID: r.id(1), Subject: r.code(2), Competencies: r.list(3, false),
		Start: r.timestamp(4), End: r.timestamp(5)}
	if r.err == nil && !l.End.After(l.Start) {
		r.fail(5, "end %s is not after start %s", FormatTime(l.End), FormatTime(l.Start))
	}
	return l
}

// statusAliases maps the spellings Pronote exports and people type to the contract's
// status codes.
var statusAliases = map[string]string{
	"absent": StatusAbsent, "abs": StatusAbsent,
	"dispense": StatusDispense, "dispensé": StatusDispense, "disp": StatusDispense,
	"non_note": StatusNonNote, "non noté": StatusNonNote, "n.not": StatusNonNote, "nn": StatusNonNote,
	"inapte":    StatusInapte,
	"non_rendu": StatusNonRendu, "non rendu": StatusNonRendu, "n.rdu": StatusNonRendu, "nr": StatusNonRendu,
}

func parseGrade(r *row) Grade {
	g := Grade{ID: r.id(0), StudentID: r.id(1), Subject: r.code(2), Competencies: r.list(3, false),
		AssessmentID: r.id(4), Date: r.timestamp(5), OutOf: r.number(7, 0, MaxOutOf),
		Coefficient: r.number(8, 0, MaxCoefficient)}
	if r.err != nil {
		return g
	}
	if g.OutOf == 0 {
		r.fail(7, "must be above 0")
	}
	if g.Coefficient == 0 {
		r.fail(8, "must be above 0")
	}
	if st := strings.TrimSpace(r.raw(9)); st != "" {
		code, ok := statusAliases[strings.ToLower(st)]
		if !ok {
			r.fail(9, "status %q is not one of %s (or empty for a mark)", truncate(st), strings.Join(GradeStatuses, " "))
		}
		g.Status = code
		if strings.TrimSpace(r.raw(6)) != "" {
			r.fail(6, "a row with status %s has no score (it never counts as a zero)", code)
		}
		return g
	}
	if strings.TrimSpace(r.raw(6)) == "" {
		r.fail(6, "empty score needs a status (%s)", strings.Join(GradeStatuses, " "))
		return g
	}
	g.Score = r.number(6, 0, g.OutOf)
	return g
}

func parseAbsence(r *row) Absence {
	a := Absence{ID: r.id(0), StudentID: r.id(1), Start: r.timestamp(2), End: r.timestamp(3), Justified: r.boolean(4)}
	if r.err == nil && !a.End.After(a.Start) {
		r.fail(3, "end %s is not after start %s", FormatTime(a.End), FormatTime(a.Start))
	}
	return a
}

func drop[T any](fn func(T) error) func(T, int) error {
	return func(v T, _ int) error { return fn(v) }
}

func collect[T any](read func(func(T) error) error) ([]T, error) {
	var out []T
	err := read(func(v T) error { out = append(out, v); return nil })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadCompetencies streams competencies.csv.
func (l Limits) ReadCompetencies(r io.Reader, name string, fn func(Competency) error) error {
	return readCSV(r, name, CompetenciesHeader, l, parseCompetency, drop(fn))
}

// ReadResources streams resources.csv.
func (l Limits) ReadResources(r io.Reader, name string, fn func(Resource) error) error {
	return readCSV(r, name, ResourcesHeader, l, parseResource, drop(fn))
}

// ReadStudents streams students.csv.
func (l Limits) ReadStudents(r io.Reader, name string, fn func(Student) error) error {
	return readCSV(r, name, StudentsHeader, l, parseStudent, drop(fn))
}

// ReadClasses streams classes.csv (optional: class labels).
func (l Limits) ReadClasses(r io.Reader, name string, fn func(Class) error) error {
	return readCSV(r, name, ClassesHeader, l, parseClass, drop(fn))
}

// ReadClasses streams classes.csv with DefaultLimits.
func ReadClasses(r io.Reader, name string, fn func(Class) error) error {
	return DefaultLimits.ReadClasses(r, name, fn)
}

// ReadLessons streams lessons.csv.
func (l Limits) ReadLessons(r io.Reader, name string, fn func(Lesson) error) error {
	return readCSV(r, name, LessonsHeader, l, parseLesson, drop(fn))
}

// ReadGrades streams grades.csv.
func (l Limits) ReadGrades(r io.Reader, name string, fn func(Grade) error) error {
	return readCSV(r, name, GradesHeader, l, parseGrade, drop(fn))
}

// ReadAbsences streams absences.csv.
func (l Limits) ReadAbsences(r io.Reader, name string, fn func(Absence) error) error {
	return readCSV(r, name, AbsencesHeader, l, parseAbsence, drop(fn))
}

// ReadCompetencies streams competencies.csv with DefaultLimits.
func ReadCompetencies(r io.Reader, name string, fn func(Competency) error) error {
	return DefaultLimits.ReadCompetencies(r, name, fn)
}

// ReadResources streams resources.csv with DefaultLimits.
func ReadResources(r io.Reader, name string, fn func(Resource) error) error {
	return DefaultLimits.ReadResources(r, name, fn)
}

// ReadStudents streams students.csv with DefaultLimits.
func ReadStudents(r io.Reader, name string, fn func(Student) error) error {
	return DefaultLimits.ReadStudents(r, name, fn)
}

// ReadLessons streams lessons.csv with DefaultLimits.
func ReadLessons(r io.Reader, name string, fn func(Lesson) error) error {
	return DefaultLimits.ReadLessons(r, name, fn)
}

// ReadGrades streams grades.csv with DefaultLimits.
func ReadGrades(r io.Reader, name string, fn func(Grade) error) error {
	return DefaultLimits.ReadGrades(r, name, fn)
}

// ReadAbsences streams absences.csv with DefaultLimits.
func ReadAbsences(r io.Reader, name string, fn func(Absence) error) error {
	return DefaultLimits.ReadAbsences(r, name, fn)
}

// ReadCompetenciesAll reads a whole competencies.csv.
func ReadCompetenciesAll(r io.Reader, name string) ([]Competency, error) {
	return collect(func(fn func(Competency) error) error { return ReadCompetencies(r, name, fn) })
}

// ReadResourcesAll reads a whole resources.csv.
func ReadResourcesAll(r io.Reader, name string) ([]Resource, error) {
	return collect(func(fn func(Resource) error) error { return ReadResources(r, name, fn) })
}
