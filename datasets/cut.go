package datasets

import "time"

// Events are the dated rows of a data folder or of one pupil.
type Events struct {
	Grades     []Grade
	Absences   []Absence
	Lessons    []Lesson
	Statements []Statement
}

// Before keeps the rows dated strictly before at: grades by date, absences and lessons by
// start, statements by timestamp. It is the one rule every temporal split shares (the
// offline evaluation's split, the re-ranker's validation split). Voiding is left to the
// caller: a void after at may not withdraw a statement before it.
func (ev Events) Before(at time.Time) Events {
	return Events{
		Grades:     before(ev.Grades, at, func(g *Grade) time.Time { return g.Date }),
		Absences:   before(ev.Absences, at, func(a *Absence) time.Time { return a.Start }),
		Lessons:    before(ev.Lessons, at, func(l *Lesson) time.Time { return l.Start }),
		Statements: before(ev.Statements, at, func(s *Statement) time.Time { return s.Timestamp }),
	}
}

func before[T any](xs []T, at time.Time, when func(*T) time.Time) []T {
	var out []T
	for i := range xs {
		if when(&xs[i]).Before(at) {
			out = append(out, xs[i])
		}
	}
	return out
}
