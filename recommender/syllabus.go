package recommender

import (
	"sort"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// syllabus is what the timetables say about where each class stands: the chapters
// (competencies) each class began, in order, and, per level and subject, the order
// classes usually teach them in. It is derived at Refit from the lessons of the classes
// of consenting pupils; a class timetable is not personal data.
type syllabus struct {
	// Order is, per "level|subject", the competencies by the mean rank at which classes
	// first teach them (ties by id): the usual progression, learnt from every class.
	Order map[string][]string `json:"order"`
	// Classes is, per class and subject, the competencies in the order the class first
	// had a lesson on them, with that lesson's start.
	Classes map[string]map[string][]chapter `json:"classes"`
}

// chapter is one competency a class began on a given date.
type chapter struct {
	Comp  string    `json:"c"`
	First time.Time `json:"t"`
}

// Syllabus positions of a competency for one pupil: where it sits relative to the
// chapter the pupil's class is on.
const (
	sylNone     = 0
	sylCurrent  = 1 // the chapter under way
	sylPrevious = 2 // one of the two chapters before it
	sylNext     = 3 // one of the two chapters the class usually does next
)

// buildSyllabus derives the syllabus from the pupils' class timetables (one pupil per
// class is enough: classmates share it), from the lessons that start before the cut
// (all when the cut is zero).
func buildSyllabus(cat *datasets.Catalogue, pupils []features.PupilEvents, cut time.Time) syllabus {
	return buildSyllabusFrom(cat, features.SliceSource(pupils), cut)
}

// buildSyllabusFrom is buildSyllabus over a source (one pass); src's errors are its
// owner's to report.
func buildSyllabusFrom(cat *datasets.Catalogue, src features.PupilSource, cut time.Time) syllabus {
	sy := syllabus{Order: map[string][]string{}, Classes: map[string]map[string][]chapter{}}
	type rankSum struct {
		sum float64
		n   int
	}
	ranks := map[string]map[string]*rankSum{} // level|subject -> comp -> ranks
	_ = src(func(ev *features.PupilEvents) error {
		cl := ev.Student.ClassID
		if cl == "" || len(ev.Lessons) == 0 {
			return nil
		}
		if _, done := sy.Classes[cl]; done {
			return nil
		}
		first := map[string]time.Time{}
		subj := map[string]string{}
		for _, l := range ev.Lessons {
			if !cut.IsZero() && !l.Start.Before(cut) {
				continue
			}
			for _, c := range l.Competencies {
				k, ok := cat.Competency(c)
				if !ok {
					continue
				}
				if t, ok := first[c]; !ok || l.Start.Before(t) {
					first[c] = l.Start
					subj[c] = k.Subject
				}
			}
		}
		bySubj := map[string][]chapter{}
		for c, t := range first {
			bySubj[subj[c]] = append(bySubj[subj[c]], chapter{Comp: c, First: t})
		}
		for s, chs := range bySubj {
			sort.Slice(chs, func(a, b int) bool {
				if !chs[a].First.Equal(chs[b].First) {
					return chs[a].First.Before(chs[b].First)
				}
				return chs[a].Comp < chs[b].Comp
			})
			key := ev.Student.Level + "|" + s
			if ranks[key] == nil {
				ranks[key] = map[string]*rankSum{}
			}
			for r, ch := range chs {
				k, _ := cat.Competency(ch.Comp)
				if k.Level != ev.Student.Level {
					continue // revision of an earlier level: not part of this level's order
				}
				rs := ranks[key][ch.Comp]
				if rs == nil {
					rs = &rankSum{}
					ranks[key][ch.Comp] = rs
				}
				rs.sum += float64(r)
				rs.n++
			}
		}
		sy.Classes[cl] = bySubj
		return nil
	})
	for key, m := range ranks {
		ids := make([]string, 0, len(m))
		for c := range m {
			ids = append(ids, c)
		}
		sort.Slice(ids, func(a, b int) bool {
			ra, rb := m[ids[a]].sum/float64(m[ids[a]].n), m[ids[b]].sum/float64(m[ids[b]].n)
			if ra != rb {
				return ra < rb
			}
			return ids[a] < ids[b]
		})
		sy.Order[key] = ids
	}
	return sy
}

// positions returns, for the pupil's class at time ref, the syllabus position of the
// competencies around the chapter under way in each subject (only subject when set).
// Lessons dated after ref (timetables run ahead) count as upcoming chapters. A class
// without a timetable has no positions.
func (sy *syllabus) positions(st datasets.Student, subject string, ref time.Time) map[string]int {
	out := map[string]int{}
	for s, chs := range sy.Classes[st.ClassID] {
		if subject != "" && s != subject {
			continue
		}
		cur := -1
		for i, ch := range chs {
			if !ch.First.After(ref) {
				cur = i
			}
		}
		taught := map[string]bool{}
		for i, ch := range chs {
			switch {
			case i == cur:
				out[ch.Comp] = sylCurrent
			case i < cur && i >= cur-2:
				out[ch.Comp] = sylPrevious
			case i > cur && i <= cur+2:
				out[ch.Comp] = sylNext
			}
			taught[ch.Comp] = true
		}
		// Upcoming chapters the timetable does not show yet: the usual next ones.
		next := 0
		for i := cur + 1; i < len(chs) && i <= cur+2; i++ {
			next++
		}
		for _, c := range sy.Order[st.Level+"|"+s] {
			if next >= 2 {
				break
			}
			if !taught[c] {
				out[c] = sylNext
				next++
			}
		}
	}
	return out
}
