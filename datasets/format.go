package datasets

import (
	"strconv"
	"strings"
	"time"
)

// File names of a data folder. A truth/ subfolder, when present, belongs to evaluation
// and is never read by the loaders of this package.
const (
	CompetenciesFile = "competencies.csv"
	ResourcesFile    = "resources.csv"
	StudentsFile     = "students.csv"
	LessonsFile      = "lessons.csv"
	GradesFile       = "grades.csv"
	AbsencesFile     = "absences.csv"
	UsageFile        = "usage.jsonl"
	ClassesFile      = "classes.csv"
)

// Headers of the CSV files, in the order the writers emit them. Readers accept the same
// set of columns in any order, and nothing else.
var (
	CompetenciesHeader = []string{"competency_id", "subject", "level", "label", "prerequisites"}
	ResourcesHeader    = []string{"resource_id", "title", "subject", "level", "type", "competencies", "difficulty", "duration_min", "url", "alt_ids"}
	StudentsHeader     = []string{"student_id", "school_id", "class_id", "level", "consent", "display_name", "mbox"}
	ClassesHeader      = []string{"class_id", "school_id", "label"}
	LessonsHeader      = []string{"lesson_id", "class_id", "subject", "competencies", "start", "end"}
	GradesHeader       = []string{"grade_id", "student_id", "subject", "competencies", "assessment_id", "date", "score", "out_of", "coefficient", "status"}
	AbsencesHeader     = []string{"absence_id", "student_id", "start", "end", "justified"}
)

// optionalColumns may be missing from a file's header (they were added in the
// contract's second version: files without them stay valid); they always come last in
// their header, so a writer can leave them out when no row uses them.
var optionalColumns = map[string]bool{"url": true, "alt_ids": true, "display_name": true, "mbox": true}

// ListSep joins the elements of a list column (prerequisites, competencies).
const ListSep = ";"

// FormatTime is the one text form of a timestamp in the data folder: RFC 3339 in UTC,
// with sub-second digits only when there are some, so that it round-trips exactly.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// FormatFloat is the shortest decimal that parses back to f: deterministic output that
// round-trips.
func FormatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// FormatBool is "true" or "false".
func FormatBool(b bool) string { return strconv.FormatBool(b) }

// FormatList joins list elements with ListSep; an empty list is an empty field.
func FormatList(xs []string) string { return strings.Join(xs, ListSep) }

// Record is the competencies.csv row of c, in CompetenciesHeader order.
func (c Competency) Record() []string {
	return []string{c.ID, c.Subject, c.Level, c.Label, FormatList(c.Prerequisites)}
}

// Record is the resources.csv row of r, in ResourcesHeader order.
func (r Resource) Record() []string {
	return []string{r.ID, r.Title, r.Subject, r.Level, r.Type, FormatList(r.Competencies),
		FormatFloat(r.Difficulty), strconv.Itoa(r.DurationMin), r.URL, FormatList(r.AltIDs)}
}

// Record is the students.csv row of s, in StudentsHeader order.
func (s Student) Record() []string {
	return []string{s.ID, s.SchoolID, s.ClassID, s.Level, FormatBool(s.Consent), s.DisplayName, s.Mbox}
}

// Record is the classes.csv row of c, in ClassesHeader order.
func (c Class) Record() []string { return []string{c.ID, c.SchoolID, c.Label} }

// Record is the lessons.csv row of l, in LessonsHeader order.
func (l Lesson) Record() []string {
	return []string{l.ID, l.ClassID, l.Subject, FormatList(l.Competencies), FormatTime(l.Start), FormatTime(l.End)}
}

// Record is the grades.csv row of g, in GradesHeader order. A row with a status has an
// empty score: it is not a zero.
func (g Grade) Record() []string {
	score := ""
	if g.Scored() {
		score = FormatFloat(g.Score)
	}
	return []string{g.ID, g.StudentID, g.Subject, FormatList(g.Competencies), g.AssessmentID,
		FormatTime(g.Date), score, FormatFloat(g.OutOf), FormatFloat(g.Coefficient), g.Status}
}

// Record is the absences.csv row of a, in AbsencesHeader order.
func (a Absence) Record() []string {
	return []string{a.ID, a.StudentID, FormatTime(a.Start), FormatTime(a.End), FormatBool(a.Justified)}
}
