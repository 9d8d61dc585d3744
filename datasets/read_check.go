package datasets

// Check functions validate values that reached Parcours another way than a data-folder
// file, such as a JSON batch posted to the ingest API: the same rules as the readers, on
// the same column names (the JSON names of the fields). An error is a *Error with
// File name, Line the element index + 1 and Field the column. A status grade's score is
// not checked: it is not kept. References to other entities are not checked.

func checkValues[T recorder](name string, header []string, xs []T, lim Limits, parse func(*row) T) error {
	f := &csvFile{name: name, header: header, lim: lim.withDefaults(), pos: make([]int, len(header))}
	for i := range f.pos {
		f.pos[i] = i
	}
	if f.lim.MaxRows > 0 && len(xs) > f.lim.MaxRows {
		return &Error{File: name, Line: f.lim.MaxRows + 1, Msg: "too many rows"}
	}
	ids := newIDSet()
	for i, x := range xs {
		f.line, f.rec = i+1, x.Record()
		rw := f.row()
		parse(rw)
		rw.unique(ids, 0)
		if rw.err != nil {
			return rw.err
		}
	}
	return nil
}

// CheckCompetencies validates competencies given as values.
func (l Limits) CheckCompetencies(name string, xs []Competency) error {
	return checkValues(name, CompetenciesHeader, xs, l, parseCompetency)
}

// CheckResources validates resources given as values.
func (l Limits) CheckResources(name string, xs []Resource) error {
	return checkValues(name, ResourcesHeader, xs, l, parseResource)
}

// CheckStudents validates students given as values.
func (l Limits) CheckStudents(name string, xs []Student) error {
	return checkValues(name, StudentsHeader, xs, l, parseStudent)
}

// CheckLessons validates lessons given as values.
func (l Limits) CheckLessons(name string, xs []Lesson) error {
	return checkValues(name, LessonsHeader, xs, l, parseLesson)
}

// CheckGrades validates grades given as values.
func (l Limits) CheckGrades(name string, xs []Grade) error {
	return checkValues(name, GradesHeader, xs, l, parseGrade)
}

// CheckAbsences validates absences given as values.
func (l Limits) CheckAbsences(name string, xs []Absence) error {
	return checkValues(name, AbsencesHeader, xs, l, parseAbsence)
}
