package pgstore

import (
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

func compRef(vals func(i int) []string) refCheck {
	return refCheck{col: "competencies", field: "competencies", table: "competencies", msg: "unknown competency", array: true, vals: vals}
}

func studentRef(id func(i int) string) refCheck {
	return refCheck{col: "student_id", field: "student_id", table: "students", msg: "unknown student",
		vals: func(i int) []string { return []string{id(i)} }}
}

// kinds lists the batch's entity kinds in reference order: a kind only refers to kinds
// before it, so checking references after each upsert sees stored ∪ batch.
func kinds(b *datasets.Dataset) []kind {
	return []kind{
		{
			table: "competencies", file: "competencies.csv", idField: "competency_id",
			cols: []string{"id", "subject", "level", "label", "prerequisites"},
			n:    len(b.Competencies), lineOf: csvLine, returns: "id",
			id:    func(i int) string { return b.Competencies[i].ID },
			ret:   func(i int) string { return b.Competencies[i].ID },
			check: func(i int) (string, string) { return checkCompetency(&b.Competencies[i]) },
			row: func(i int) []any {
				c := &b.Competencies[i]
				return []any{c.ID, c.Subject, c.Level, c.Label, nonNil(c.Prerequisites)}
			},
			refs: []refCheck{{col: "prerequisites", field: "prerequisites", table: "competencies", msg: "unknown prerequisite", array: true,
				vals: func(i int) []string { return b.Competencies[i].Prerequisites }}},
		},
		{
			table: "resources", file: "resources.csv", idField: "resource_id",
			cols: []string{"id", "title", "subject", "level", "type", "competencies", "difficulty", "duration_min", "url", "alt_ids"},
			n:    len(b.Resources), lineOf: csvLine, returns: "id",
			id:    func(i int) string { return b.Resources[i].ID },
			ret:   func(i int) string { return b.Resources[i].ID },
			check: func(i int) (string, string) { return checkResource(&b.Resources[i]) },
			row: func(i int) []any {
				r := &b.Resources[i]
				return []any{r.ID, r.Title, r.Subject, r.Level, r.Type, nonNil(r.Competencies), r.Difficulty, int32(r.DurationMin), r.URL, nonNil(r.AltIDs)}
			},
			refs: []refCheck{compRef(func(i int) []string { return b.Resources[i].Competencies })},
		},
		{
			table: "students", file: "students.csv", idField: "student_id",
			cols: []string{"id", "school_id", "class_id", "level", "consent", "display_name", "mbox", "mbox_sha1"},
			n:    len(b.Students), lineOf: csvLine, returns: "id",
			id:    func(i int) string { return b.Students[i].ID },
			ret:   func(i int) string { return b.Students[i].ID },
			check: func(i int) (string, string) { return checkStudent(&b.Students[i]) },
			row: func(i int) []any {
				s := &b.Students[i]
				return []any{s.ID, s.SchoolID, s.ClassID, s.Level, s.Consent, s.DisplayName, s.Mbox, nonNil(datasets.MboxSHA1s(s.Mbox))}
			},
		},
		{
			table: "lessons", file: "lessons.csv", idField: "lesson_id",
			cols: []string{"id", "class_id", "subject", "competencies", "start_at", "end_at"},
			n:    len(b.Lessons), lineOf: csvLine, returns: "class_id",
			id:    func(i int) string { return b.Lessons[i].ID },
			check: func(i int) (string, string) { return checkLesson(&b.Lessons[i]) },
			row: func(i int) []any {
				l := &b.Lessons[i]
				return []any{l.ID, l.ClassID, l.Subject, nonNil(l.Competencies), l.Start, l.End}
			},
			ret:  func(i int) string { return b.Lessons[i].ClassID },
			refs: []refCheck{compRef(func(i int) []string { return b.Lessons[i].Competencies })},
		},
		{
			table: "grades", file: "grades.csv", idField: "grade_id",
			cols: []string{"id", "student_id", "subject", "competencies", "assessment_id", "date", "score", "out_of", "coefficient", "status"},
			n:    len(b.Grades), lineOf: csvLine, returns: "student_id", owner: "student_id",
			id:    func(i int) string { return b.Grades[i].ID },
			check: func(i int) (string, string) { return checkGrade(&b.Grades[i]) },
			row: func(i int) []any {
				g := &b.Grades[i]
				return []any{g.ID, g.StudentID, g.Subject, nonNil(g.Competencies), g.AssessmentID, g.Date, g.Score, g.OutOf, g.Coefficient, g.Status}
			},
			ret: func(i int) string { return b.Grades[i].StudentID },
			refs: []refCheck{
				studentRef(func(i int) string { return b.Grades[i].StudentID }),
				compRef(func(i int) []string { return b.Grades[i].Competencies }),
			},
		},
		{
			table: "absences", file: "absences.csv", idField: "absence_id",
			cols: []string{"id", "student_id", "start_at", "end_at", "justified"},
			n:    len(b.Absences), lineOf: csvLine, returns: "student_id", owner: "student_id",
			id:    func(i int) string { return b.Absences[i].ID },
			check: func(i int) (string, string) { return checkAbsence(&b.Absences[i]) },
			row: func(i int) []any {
				a := &b.Absences[i]
				return []any{a.ID, a.StudentID, a.Start, a.End, a.Justified}
			},
			ret:  func(i int) string { return b.Absences[i].StudentID },
			refs: []refCheck{studentRef(func(i int) string { return b.Absences[i].StudentID })},
		},
		{
			table: "statements", file: "usage.jsonl", idField: "id",
			cols: []string{"id", "student_id", "verb", "object_id", "ts", "scaled", "success", "completion", "duration_ns"},
			n:    len(b.Statements), lineOf: jsonlLine, returns: "student_id",
			id:    func(i int) string { return b.Statements[i].ID },
			check: func(i int) (string, string) { return checkStatement(&b.Statements[i]) },
			row: func(i int) []any {
				st := &b.Statements[i]
				return []any{st.ID, st.StudentID, st.Verb, st.ObjectID, st.Timestamp, st.Scaled, st.Success, st.Completion, durationNS(st.Duration)}
			},
			ret: func(i int) string { return b.Statements[i].StudentID },
			refs: []refCheck{
				{col: "student_id", field: "actor.account.name", table: "students", msg: "unknown student",
					vals: func(i int) []string { return []string{b.Statements[i].StudentID} }},
				{col: "object_id", field: "object.id", table: "resources", msg: "unknown resource",
					where: "s.verb <> '" + datasets.VerbVoided + "'",
					vals:  func(i int) []string { return stmtObject(&b.Statements[i], false) }},
				// stored ∪ batch: references are checked after the batch's rows are in.
				{col: "object_id", field: "object.id", table: "statements", msg: "voids an unknown statement",
					where: "s.verb = '" + datasets.VerbVoided + "'",
					vals:  func(i int) []string { return stmtObject(&b.Statements[i], true) }},
			},
		},
	}
}

// stmtObject returns the statement's object when it is a statement id (voided) or a
// resource id (any other verb), as asked.
func stmtObject(st *datasets.Statement, voiding bool) []string {
	if (st.Verb == datasets.VerbVoided) != voiding {
		return nil
	}
	return []string{st.ObjectID}
}

// nonNil stores a missing list as an empty array, which reads back as an empty slice.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func durationNS(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	ns := int64(*d)
	return &ns
}
