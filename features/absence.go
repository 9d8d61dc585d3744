package features

import (
	"sort"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// SpellGap is the longest gap between two absences that still makes them one spell: a
// pupil away Friday and Monday has been away all along.
const SpellGap = 72 * time.Hour

// MissedShare is the share of a lesson a pupil must have missed for it to count as missed.
const MissedShare = 0.5

func overlap(a0, a1, b0, b1 time.Time) time.Duration {
	lo, hi := a0, a1
	if b0.After(lo) {
		lo = b0
	}
	if b1.Before(hi) {
		hi = b1
	}
	if !hi.After(lo) {
		return 0
	}
	return hi.Sub(lo)
}

// AbsenceSummary computes the attendance features as of asOf from the pupil's absences
// and their class timetable:
//   - Rate30d, Rate90d: lesson time missed / lesson time held, over the lessons that
//     started in the last 30 (90) days; 0 when no lesson was held;
//   - UnjustifiedShare: unjustified / all missed lesson time over 90 days (over raw
//     absence time when the timetable is empty);
//   - CurrentSpellDays: when an absence covers asOf, the days since the start of its
//     spell (absences less than SpellGap apart merged); else 0.
func AbsenceSummary(abs []datasets.Absence, lessons []datasets.Lesson, asOf time.Time) AbsenceFeatures {
	var f AbsenceFeatures
	abs = sortedAbsences(abs, asOf)
	lessons = sortedLessons(lessons)
	miss := lessonMisses(abs, lessons, asOf)
	rate := func(window time.Duration) (rate float64, missed, unjust time.Duration) {
		from := asOf.Add(-window)
		lo := sort.Search(len(lessons), func(i int) bool { return !lessons[i].Start.Before(from) })
		var held time.Duration
		for i := lo; i < len(lessons) && !lessons[i].Start.After(asOf); i++ {
			if l := &lessons[i]; l.End.After(l.Start) {
				held += l.End.Sub(l.Start)
				if m, ok := miss[i]; ok {
					missed += m.ov
					unjust += m.unjust
				}
			}
		}
		if held > 0 {
			rate = min(float64(missed)/float64(held), 1)
		}
		return rate, missed, unjust
	}
	f.Rate30d, _, _ = rate(30 * 24 * time.Hour)
	var missed, unjust time.Duration
	f.Rate90d, missed, unjust = rate(90 * 24 * time.Hour)
	if len(lessons) == 0 {
		from := asOf.Add(-90 * 24 * time.Hour)
		for _, a := range abs {
			ov := overlap(from, asOf, a.Start, a.End)
			missed += ov
			if !a.Justified {
				unjust += ov
			}
		}
	}
	if missed > 0 {
		f.UnjustifiedShare = float64(unjust) / float64(missed)
	}
	f.CurrentSpellDays = currentSpell(abs, asOf)
	return f
}

// sortedAbsences returns the well-formed absences that started by asOf, by start.
func sortedAbsences(abs []datasets.Absence, asOf time.Time) []datasets.Absence {
	out := make([]datasets.Absence, 0, len(abs))
	for _, a := range abs {
		if a.End.After(a.Start) && !a.Start.After(asOf) {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// sortedLessons returns lessons by start: the slice itself when already sorted (a
// class's timetable is shared by its pupils and usually comes sorted), else a copy.
func sortedLessons(ls []datasets.Lesson) []datasets.Lesson {
	if sort.SliceIsSorted(ls, func(i, j int) bool { return ls[i].Start.Before(ls[j].Start) }) {
		return ls
	}
	out := append([]datasets.Lesson(nil), ls...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// maxLesson bounds a lesson's length when searching the timetable from an absence.
const maxLesson = 24 * time.Hour

type lessonMiss struct {
	ov, unjust time.Duration
	justified  bool
}

// lessonMisses intersects absences (sorted) with lessons (sorted) that started by asOf:
// lesson index -> time missed. Cost: O(absences · log lessons + overlapping pairs).
func lessonMisses(abs []datasets.Absence, lessons []datasets.Lesson, asOf time.Time) map[int]lessonMiss {
	out := map[int]lessonMiss{}
	for _, a := range abs {
		from := a.Start.Add(-maxLesson)
		i := sort.Search(len(lessons), func(i int) bool { return !lessons[i].Start.Before(from) })
		for ; i < len(lessons) && lessons[i].Start.Before(a.End) && !lessons[i].Start.After(asOf); i++ {
			l := &lessons[i]
			ov := overlap(l.Start, l.End, a.Start, a.End)
			if ov <= 0 {
				continue
			}
			m, seen := out[i]
			if !seen {
				m.justified = true
			}
			m.ov += ov
			if !a.Justified {
				m.unjust += ov
				m.justified = false
			}
			out[i] = m
		}
	}
	return out
}

func currentSpell(abs []datasets.Absence, asOf time.Time) float64 {
	var start, end time.Time
	for _, a := range abs { // sorted by start
		if start.IsZero() || a.Start.Sub(end) > SpellGap {
			start, end = a.Start, a.End
		} else if a.End.After(end) {
			end = a.End
		}
	}
	if start.IsZero() || end.Before(asOf) {
		return 0
	}
	return asOf.Sub(start).Hours() / 24
}

// MissedLessons returns the lessons that started by asOf of which the pupil missed at
// least MissedShare (absences intersected with the timetable), oldest first. A missed
// lesson is justified when every absence overlapping it is.
func MissedLessons(abs []datasets.Absence, lessons []datasets.Lesson, asOf time.Time) []MissedLesson {
	abs = sortedAbsences(abs, asOf)
	lessons = sortedLessons(lessons)
	miss := lessonMisses(abs, lessons, asOf)
	out := []MissedLesson{}
	idx := make([]int, 0, len(miss))
	for i := range miss {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		l, m := &lessons[i], miss[i]
		if l.End.After(l.Start) && float64(m.ov) >= MissedShare*float64(l.End.Sub(l.Start)) {
			out = append(out, MissedLesson{LessonID: l.ID, Subject: l.Subject,
				Competencies: append([]string(nil), l.Competencies...), Start: l.Start, Justified: m.justified})
		}
	}
	return out
}
