package synth

import (
	"math"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

const lessonLength = 55 * time.Minute

// teach gives one lesson: a test when one is due, else the next step of the programme
// (or revision once the programme is done). A short quiz ("interrogation") opens the
// first lesson after a chapter ends, now and then.
func (cl *class) teach(s slot, start time.Time) {
	sp, m := s.subj, cl.g.m
	subj := subjects[sp.subj]
	if len(sp.test) > 0 {
		test := sp.test
		sp.test = nil
		cl.out.lesson(datasets.Lesson{ID: cl.ids.next("seance", &cl.ids.lessons), ClassID: cl.id, Subject: subj,
			Competencies: cl.compIDs(test), Start: start, End: start.Add(lessonLength)})
		outOf, coef := 20.0, []float64{1, 1, 1, 2, 2, 3}[cl.rng.IntN(6)]
		if cl.rng.Float64() < 0.1 {
			outOf = 10
		}
		cl.assess(subj, test, start, outOf, coef, 8, true, 0)
		return
	}
	before := sp.pos()
	sp.given++
	after := sp.pos()
	var comps []int32
	switch {
	case before < len(sp.order):
		comps = []int32{sp.order[before]}
	default:
		comps = []int32{sp.order[cl.rng.IntN(len(sp.order))]} // revision
	}
	cl.out.lesson(datasets.Lesson{ID: cl.ids.next("seance", &cl.ids.lessons), ClassID: cl.id, Subject: subj,
		Competencies: cl.compIDs(comps), Start: start, End: start.Add(lessonLength)})
	for _, pu := range cl.pupils {
		m.lesson(pu.pupilState, comps, !pu.absentAt(start.Hour()), cl.week)
	}
	if after > before && before < len(sp.order) {
		done := sp.order[before]
		sp.finished = append(sp.finished, done)
		if cl.rng.Float64() < 0.5 {
			cl.assess(subj, []int32{done}, start.Add(45*time.Minute), 10, 0.5, 5, true, 0)
		}
		if len(sp.finished) >= 2+cl.rng.IntN(2) || after == len(sp.order) {
			sp.test, sp.finished = sp.finished, nil
		}
	}
	if cl.week >= sp.dmWeek && before > 0 {
		// Homework (devoir maison) on what was taught lately, handed in today: done at
		// home with help, so easier; absence does not matter, but some never hand it in.
		sp.dmWeek = cl.week + 4 + cl.rng.IntN(3)
		recent := sp.order[max(0, before-2):min(before+1, len(sp.order))]
		cl.assess(subj, recent, start, 20, []float64{0.5, 1}[cl.rng.IntN(2)], 6, false, -0.8)
	}
}

func (cl *class) compIDs(comps []int32) []string {
	ids := make([]string, len(comps))
	for i, c := range comps {
		ids[i] = cl.g.m.c.comps[c].ID
	}
	return ids
}

// assess grades every pupil of the class on one assessment. Its items have difficulties
// spread around the competencies' (shifted by the teacher's severity and ease); each is
// answered right with probability σ(θ − b), half credit now and then; the mark is
// rounded to half a point as teachers do.
func (cl *class) assess(subj string, comps []int32, at time.Time, outOf, coef float64, items int, inClass bool, ease float64) {
	m := cl.g.m
	sp := cl.planOf(subj)
	var mean float64
	for _, c := range comps {
		mean += m.c.compDiff[c]
	}
	mean = mean/float64(len(comps)) + sp.severity + ease + 0.3*cl.rng.NormFloat64()
	b := make([]float64, items)
	for i := range b {
		b[i] = mean + 0.6*cl.rng.NormFloat64()
	}
	aid := cl.ids.next("devoir", &cl.ids.assessments)
	cl.out.assessment(aid, round2(mean))
	ids := cl.compIDs(comps)
	for _, pu := range cl.pupils {
		g := datasets.Grade{ID: cl.ids.next("note", &cl.ids.grades), StudentID: pu.id, Subject: subj,
			Competencies: ids, AssessmentID: aid, Date: at, OutOf: outOf, Coefficient: coef}
		u := cl.rng.Float64()
		switch {
		case inClass && pu.absentAt(at.Hour()):
			g.Status = datasets.StatusAbsent
		case !inClass && u < 0.03+0.07*math.Max(0, 1-2*pu.engagement):
			g.Status = datasets.StatusNonRendu
		case u > 0.997:
			g.Status = datasets.StatusDispense
		case u > 0.995:
			g.Status = datasets.StatusNonNote
		case u > 0.9945 && (subj == "SVT" || subj == "PHYS-CHIM"):
			g.Status = datasets.StatusInapte
		default:
			var pts float64
			for i, bi := range b {
				p := m.pSuccess(pu.pupilState, comps[i%len(comps):i%len(comps)+1], bi, cl.week)
				if v := cl.rng.Float64(); v < p {
					pts++
				} else if v < p+0.3*(1-p) {
					pts += 0.5
				}
			}
			g.Score = math.Round(2*outOf*pts/float64(items)) / 2
		}
		cl.out.grade(g)
	}
}

func (cl *class) planOf(subj string) *subjectPlan {
	for _, sp := range cl.plans {
		if subjects[sp.subj] == subj {
			return sp
		}
	}
	panic("synth: no plan for " + subj)
}
