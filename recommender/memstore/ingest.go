package memstore

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// File names used in errors, one per entity kind, as in the data folder.
const (
	fileCompetencies = "competencies.csv"
	fileResources    = "resources.csv"
	fileStudents     = "students.csv"
	fileLessons      = "lessons.csv"
	fileGrades       = "grades.csv"
	fileAbsences     = "absences.csv"
	fileUsage        = "usage.jsonl"
)

// csvLine is the line of batch element i in a CSV file (line 1 is the header);
// jsonlLine is the line of element i in a JSON Lines file.
func csvLine(i int) int   { return i + 2 }
func jsonlLine(i int) int { return i + 1 }

func rowErr(file string, line int, field, format string, args ...any) error {
	return &datasets.Error{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func conflict(file string, line int, field, format string, args ...any) error {
	return &datasets.Error{Code: datasets.ErrConflict, File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// batchIndex maps each id of one entity kind in the batch to its position, and rejects
// empty and repeated ids.
func batchIndex[T any](rows []T, id func(T) string, file, field string, line func(int) int) (map[string]int, error) {
	idx := make(map[string]int, len(rows))
	for i, r := range rows {
		k := id(r)
		if k == "" {
			return nil, rowErr(file, line(i), field, "empty id")
		}
		if j, dup := idx[k]; dup {
			return nil, rowErr(file, line(i), field, "id %q repeats line %d", k, line(j))
		}
		idx[k] = i
	}
	return idx, nil
}

// batch is a Dataset under validation with its id indexes.
type batch struct {
	*datasets.Dataset
	comps, res, students, lessons, grades, absences, statements map[string]int
}

func levelOK(l string) bool { return datasets.LevelIndex(l) >= 0 }

// Ingest validates the batch against the stored data plus the batch itself, then applies
// it all-or-nothing, upserting by id. See recommender.Store.
func (s *Store) Ingest(ctx context.Context, d *datasets.Dataset) (recommender.Changed, error) {
	return s.IngestApply(ctx, d, nil)
}

func (s *Store) validate(d *datasets.Dataset) (*batch, error) {
	b := &batch{Dataset: d}
	var err error
	if b.comps, err = batchIndex(d.Competencies, func(c datasets.Competency) string { return c.ID }, fileCompetencies, "competency_id", csvLine); err != nil {
		return nil, err
	}
	if b.res, err = batchIndex(d.Resources, func(r datasets.Resource) string { return r.ID }, fileResources, "resource_id", csvLine); err != nil {
		return nil, err
	}
	if b.students, err = batchIndex(d.Students, func(r datasets.Student) string { return r.ID }, fileStudents, "student_id", csvLine); err != nil {
		return nil, err
	}
	if b.lessons, err = batchIndex(d.Lessons, func(r datasets.Lesson) string { return r.ID }, fileLessons, "lesson_id", csvLine); err != nil {
		return nil, err
	}
	if b.grades, err = batchIndex(d.Grades, func(r datasets.Grade) string { return r.ID }, fileGrades, "grade_id", csvLine); err != nil {
		return nil, err
	}
	if b.absences, err = batchIndex(d.Absences, func(r datasets.Absence) string { return r.ID }, fileAbsences, "absence_id", csvLine); err != nil {
		return nil, err
	}
	if b.statements, err = batchIndex(d.Statements, func(r datasets.Statement) string { return r.ID }, fileUsage, "id", jsonlLine); err != nil {
		return nil, err
	}
	for _, check := range []func(*batch) error{
		s.checkCompetencies, s.checkResources, s.checkStudents, s.checkLessons,
		s.checkGrades, s.checkAbsences, s.checkStatements, s.checkExtras,
	} {
		if err := check(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (s *Store) compKnown(b *batch, id string) bool {
	if _, ok := b.comps[id]; ok {
		return true
	}
	_, ok := s.comps[id]
	return ok
}

func (s *Store) studentKnown(b *batch, id string) bool {
	if _, ok := b.students[id]; ok {
		return true
	}
	_, ok := s.students[id]
	return ok
}

func (s *Store) checkComps(b *batch, ids []string, file string, line int, field string) error {
	for _, k := range ids {
		if !s.compKnown(b, k) {
			return rowErr(file, line, field, "unknown competency %q", k)
		}
	}
	return nil
}

func (s *Store) checkCompetencies(b *batch) error {
	for i, c := range b.Competencies {
		line := csvLine(i)
		switch {
		case c.Subject == "":
			return rowErr(fileCompetencies, line, "subject", "empty")
		case !levelOK(c.Level):
			return rowErr(fileCompetencies, line, "level", "unknown level %q", c.Level)
		case slices.Contains(c.Prerequisites, c.ID):
			return rowErr(fileCompetencies, line, "prerequisites", "%q is its own prerequisite", c.ID)
		}
		if err := s.checkComps(b, c.Prerequisites, fileCompetencies, line, "prerequisites"); err != nil {
			return err
		}
	}
	if len(b.Competencies) == 0 {
		return nil
	}
	return datasets.CheckAcyclic(fileCompetencies, b.Competencies, csvLine,
		func(id string) []string { return s.comps[id].Prerequisites })
}

func (s *Store) checkResources(b *batch) error {
	for i, r := range b.Resources {
		line := csvLine(i)
		switch {
		case r.Subject == "":
			return rowErr(fileResources, line, "subject", "empty")
		case !levelOK(r.Level):
			return rowErr(fileResources, line, "level", "unknown level %q", r.Level)
		case math.IsNaN(r.Difficulty) || math.IsInf(r.Difficulty, 0):
			return rowErr(fileResources, line, "difficulty", "not a finite number")
		case r.DurationMin < 0:
			return rowErr(fileResources, line, "duration_min", "negative")
		}
		if err := s.checkComps(b, r.Competencies, fileResources, line, "competencies"); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) checkStudents(b *batch) error {
	for i, st := range b.Students {
		line := csvLine(i)
		switch {
		case st.SchoolID == "":
			return rowErr(fileStudents, line, "school_id", "empty")
		case st.ClassID == "":
			return rowErr(fileStudents, line, "class_id", "empty")
		case !levelOK(st.Level):
			return rowErr(fileStudents, line, "level", "unknown level %q", st.Level)
		}
	}
	return nil
}

func (s *Store) checkLessons(b *batch) error {
	for i, l := range b.Lessons {
		line := csvLine(i)
		switch {
		case l.ClassID == "":
			return rowErr(fileLessons, line, "class_id", "empty")
		case l.Subject == "":
			return rowErr(fileLessons, line, "subject", "empty")
		case l.Start.IsZero():
			return rowErr(fileLessons, line, "start", "missing")
		case l.End.Before(l.Start):
			return rowErr(fileLessons, line, "end", "before start")
		}
		if err := s.checkComps(b, l.Competencies, fileLessons, line, "competencies"); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) checkGrades(b *batch) error {
	for i, g := range b.Grades {
		line := csvLine(i)
		if !s.studentKnown(b, g.StudentID) {
			return rowErr(fileGrades, line, "student_id", "unknown student %q", g.StudentID)
		}
		if err := s.checkComps(b, g.Competencies, fileGrades, line, "competencies"); err != nil {
			return err
		}
		switch {
		case g.Date.IsZero():
			return rowErr(fileGrades, line, "date", "missing")
		case g.Status != "" && !slices.Contains(datasets.GradeStatuses, g.Status):
			return rowErr(fileGrades, line, "status", "unknown status %q", g.Status)
		case !(g.OutOf > 0) || math.IsInf(g.OutOf, 0):
			return rowErr(fileGrades, line, "out_of", "must be positive")
		case g.Scored() && !(g.Score >= 0 && g.Score <= g.OutOf):
			return rowErr(fileGrades, line, "score", "%v not within 0..%v", g.Score, g.OutOf)
		case !(g.Coefficient >= 0) || math.IsInf(g.Coefficient, 0):
			return rowErr(fileGrades, line, "coefficient", "must be zero or positive")
		}
		if old, ok := s.grades[g.ID]; ok && old.StudentID != g.StudentID {
			return conflict(fileGrades, line, "student_id", "grade %q belongs to another student", g.ID)
		}
	}
	return nil
}

func (s *Store) checkAbsences(b *batch) error {
	for i, a := range b.Absences {
		line := csvLine(i)
		switch {
		case !s.studentKnown(b, a.StudentID):
			return rowErr(fileAbsences, line, "student_id", "unknown student %q", a.StudentID)
		case a.Start.IsZero():
			return rowErr(fileAbsences, line, "start", "missing")
		case a.End.Before(a.Start):
			return rowErr(fileAbsences, line, "end", "before start")
		}
		if old, ok := s.absences[a.ID]; ok && old.StudentID != a.StudentID {
			return conflict(fileAbsences, line, "student_id", "absence %q belongs to another student", a.ID)
		}
	}
	return nil
}

func (s *Store) checkStatements(b *batch) error {
	for i, x := range b.Statements {
		line := jsonlLine(i)
		switch {
		case !s.studentKnown(b, x.StudentID):
			return rowErr(fileUsage, line, "actor.account.name", "unknown student %q", x.StudentID)
		case x.Verb == "":
			return rowErr(fileUsage, line, "verb.id", "empty")
		case x.Timestamp.IsZero():
			return rowErr(fileUsage, line, "timestamp", "missing")
		case x.Scaled != nil && !(*x.Scaled >= -1 && *x.Scaled <= 1):
			return rowErr(fileUsage, line, "result.score.scaled", "%v not within -1..1", *x.Scaled)
		case x.Duration != nil && *x.Duration < 0:
			return rowErr(fileUsage, line, "result.duration", "negative")
		}
		if x.Verb == datasets.VerbVoided {
			target, ok := s.statementFor(b, x.ObjectID)
			switch {
			case !ok:
				return rowErr(fileUsage, line, "object.id", "voids unknown statement %q", x.ObjectID)
			case target.Verb == datasets.VerbVoided:
				return rowErr(fileUsage, line, "object.id", "a voiding statement cannot be voided")
			}
		} else {
			_, inBatch := b.res[x.ObjectID]
			if _, stored := s.res[x.ObjectID]; !inBatch && !stored {
				return rowErr(fileUsage, line, "object.id", "unknown resource %q", x.ObjectID)
			}
		}
		// xAPI: a statement id is immutable; the same content again is no change.
		if old, ok := s.statements[x.ID]; ok && !sameStatement(old, x) {
			return conflict(fileUsage, line, "id", "statement %q already stored with other content", x.ID)
		}
	}
	return nil
}

func (s *Store) statementFor(b *batch, id string) (datasets.Statement, bool) {
	if i, ok := b.statements[id]; ok {
		return b.Statements[i], true
	}
	x, ok := s.statements[id]
	return x, ok
}

// apply writes a validated batch and reports what changed.
func (s *Store) apply(b *batch) recommender.Changed {
	pupils, classes := idSet{}, idSet{}
	catalogue := false
	for _, c := range b.Competencies {
		if old, ok := s.comps[c.ID]; !ok || !sameCompetency(old, c) {
			s.comps[c.ID] = copyCompetency(c)
			catalogue = true
		}
	}
	resChanged := false
	for _, r := range b.Resources {
		if old, ok := s.res[r.ID]; !ok || !sameResource(old, r) {
			s.res[r.ID] = copyResource(r)
			resChanged = true
		}
	}
	catalogue = catalogue || resChanged
	for _, st := range b.Students {
		if old, ok := s.students[st.ID]; !ok || old != st {
			s.putStudent(st)
			pupils[st.ID] = struct{}{}
		}
	}
	for _, l := range b.Lessons {
		old, ok := s.lessons[l.ID]
		if ok && sameLesson(old, l) {
			continue
		}
		if ok {
			delete(s.lessonsByClass[old.ClassID], l.ID)
			classes[old.ClassID] = struct{}{}
		}
		s.lessons[l.ID] = copyLesson(l)
		addTo(s.lessonsByClass, l.ClassID, l.ID)
		classes[l.ClassID] = struct{}{}
	}
	for _, g := range b.Grades {
		if old, ok := s.grades[g.ID]; !ok || !sameGrade(old, g) {
			s.grades[g.ID] = copyGrade(g)
			addTo(s.gradesBy, g.StudentID, g.ID)
			pupils[g.StudentID] = struct{}{}
		}
	}
	for _, a := range b.Absences {
		if old, ok := s.absences[a.ID]; !ok || !sameAbsence(old, a) {
			s.absences[a.ID] = a
			addTo(s.absencesBy, a.StudentID, a.ID)
			pupils[a.StudentID] = struct{}{}
		}
	}
	for _, x := range b.Statements {
		if _, ok := s.statements[x.ID]; ok {
			continue // identical, checked by validate
		}
		s.statements[x.ID] = copyStatement(x)
		addTo(s.statementsBy, x.StudentID, x.ID)
		pupils[x.StudentID] = struct{}{}
	}
	// Voiding after every statement is in, so that a batch may hold both in any order.
	for _, x := range b.Statements {
		if x.Verb == datasets.VerbVoided && s.voidedBy[x.ObjectID] == "" {
			s.voidedBy[x.ObjectID] = x.ID
			pupils[s.statements[x.ObjectID].StudentID] = struct{}{}
		}
	}
	for c := range classes {
		s.rebuildTimetable(c)
	}
	for c := range classes {
		for id := range s.byClass[c] {
			pupils[id] = struct{}{}
		}
	}
	if resChanged {
		s.refreshVectorMeta()
	}
	return recommender.Changed{Students: sortedKeys(pupils), Classes: sortedKeys(classes), Catalogue: catalogue}
}

func addTo(index map[string]idSet, owner, id string) {
	set := index[owner]
	if set == nil {
		set = idSet{}
		index[owner] = set
	}
	set[id] = struct{}{}
}

func removeFrom(index map[string]idSet, owner, id string) {
	if set := index[owner]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(index, owner)
		}
	}
}

func sortedKeys(set idSet) []string {
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
