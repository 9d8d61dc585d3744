package datasets

import "time"

// DefaultFutureTolerance is how far past now a dated row may be: a day covers the clocks
// and time zones of the source systems.
const DefaultFutureTolerance = 24 * time.Hour

// CheckNotFuture refuses the first grade, absence or statement dated after limit (now
// plus a tolerance), naming file, line and field: a mark dated 2099 would outweigh every
// real one in the student model and outlive every retention purge. Lessons are exempt:
// a timetable runs ahead. Lines follow the data files (rows in file order).
func CheckNotFuture(d *Dataset, limit time.Time) error {
	late := func(t time.Time) bool { return t.After(limit) }
	msg := "dated after " + FormatTime(limit) + " (now plus the tolerance of future dates)"
	for i, g := range d.Grades {
		if late(g.Date) {
			return &Error{File: "grades.csv", Line: i + 2, Field: "date", Msg: msg}
		}
	}
	for i, a := range d.Absences {
		if late(a.Start) {
			return &Error{File: "absences.csv", Line: i + 2, Field: "start", Msg: msg}
		}
		if late(a.End) {
			return &Error{File: "absences.csv", Line: i + 2, Field: "end", Msg: msg}
		}
	}
	for i, s := range d.Statements {
		if late(s.Timestamp) {
			return &Error{File: "usage.jsonl", Line: i + 1, Field: "timestamp", Msg: msg}
		}
	}
	return nil
}
