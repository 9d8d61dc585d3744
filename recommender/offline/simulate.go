package offline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
)

// simWeeks is how many weeks pupils follow a policy in the simulator by default.
const simWeeks = 8

// trueMastery is the true P(success) on an item of a prerequisite's own difficulty from
// which it counts as mastered when violations are judged against the truth (the
// engine's default MasteryThreshold).
const trueMastery = 0.6

// simData is what every simulation replays: the pupils the truth restores at the split
// and the events after it that no policy changes (their classes' lessons, their
// absences).
type simData struct {
	at       time.Time
	week     int // truth week whose end the split falls on
	pupils   []string
	students map[string]datasets.Student
	lessons  map[string][]datasets.Lesson  // class -> lessons from the split on, by start
	absences map[string][]datasets.Absence // pupil -> absences from the split on
	comps    map[int][]string              // level -> competencies of that level and the one below
	train    *datasets.Dataset             // the simulated pupils' training rows (engine stores)
	schools  []string
	classes  []string
}

func newSimData(ds *datasets.Dataset, sp *Split, truth *synth.Truth, weeks, most int, seed uint64) (*simData, error) {
	week, err := simWeek(truth, sp.At)
	if err != nil {
		return nil, err
	}
	// The restorable pupils, listed without restoring any state (keep says no to all).
	var restorable []string
	if _, err := truth.SimulatorOf(truth.Info.Params, week, 1, func(id string) bool {
		restorable = append(restorable, id)
		return false
	}); err != nil {
		return nil, err
	}
	slices.Sort(restorable)
	sd := &simData{at: sp.At, week: week, students: map[string]datasets.Student{}, lessons: map[string][]datasets.Lesson{},
		absences: map[string][]datasets.Absence{}, comps: map[int][]string{}}
	all := map[string]datasets.Student{}
	for _, s := range ds.Students {
		all[s.ID] = s
	}
	restorable = sampleClasses(restorable, all, most, seed)
	classes := map[string]bool{}
	for _, id := range restorable {
		if s, ok := all[id]; ok {
			sd.pupils = append(sd.pupils, id)
			sd.students[id] = s
			sd.schools = append(sd.schools, s.SchoolID)
			sd.classes = append(sd.classes, s.ClassID)
			classes[s.ClassID] = true
		}
	}
	if len(sd.pupils) == 0 {
		return nil, fmt.Errorf("the truth restores no pupil of the folder at the split")
	}
	end := sp.At.AddDate(0, 0, 7*weeks)
	for _, l := range ds.Lessons {
		if classes[l.ClassID] && !l.Start.Before(sp.At) && l.Start.Before(end) {
			sd.lessons[l.ClassID] = append(sd.lessons[l.ClassID], l)
		}
	}
	for _, ls := range sd.lessons {
		slices.SortStableFunc(ls, func(a, b datasets.Lesson) int { return a.Start.Compare(b.Start) })
	}
	for _, a := range ds.Absences {
		if _, ok := sd.students[a.StudentID]; ok && a.End.After(sp.At) {
			sd.absences[a.StudentID] = append(sd.absences[a.StudentID], a)
		}
	}
	for _, c := range ds.Competencies {
		lv := datasets.LevelIndex(c.Level)
		sd.comps[lv] = append(sd.comps[lv], c.ID)
		sd.comps[lv+1] = append(sd.comps[lv+1], c.ID)
	}
	tr := &datasets.Dataset{Competencies: ds.Competencies, Resources: ds.Resources}
	for _, id := range sd.pupils {
		tr.Students = append(tr.Students, sd.students[id])
	}
	for _, g := range sp.Train.Grades {
		if _, ok := sd.students[g.StudentID]; ok {
			tr.Grades = append(tr.Grades, g)
		}
	}
	for _, a := range sp.Train.Absences {
		if _, ok := sd.students[a.StudentID]; ok {
			tr.Absences = append(tr.Absences, a)
		}
	}
	for _, s := range sp.Train.Statements {
		if _, ok := sd.students[s.StudentID]; ok {
			tr.Statements = append(tr.Statements, s)
		}
	}
	for _, l := range sp.Train.Lessons {
		if classes[l.ClassID] {
			tr.Lessons = append(tr.Lessons, l)
		}
	}
	sd.train = tr
	return sd, nil
}

// sampleClasses keeps the pupils of a seeded sample of whole classes (the bootstrap
// resamples classes) holding at most most pupils, when ids holds more; ids stay in
// their order.
func sampleClasses(ids []string, students map[string]datasets.Student, most int, seed uint64) []string {
	if len(ids) <= most {
		return ids
	}
	size := map[string]int{}
	var classes []string
	for _, id := range ids {
		c := students[id].ClassID
		if size[c] == 0 {
			classes = append(classes, c)
		}
		size[c]++
	}
	rng := rand.New(rand.NewPCG(seed, 0xc1a55))
	keep := map[string]bool{}
	n := 0
	for _, i := range rng.Perm(len(classes)) {
		c := classes[i]
		if n > 0 && n+size[c] > most {
			continue
		}
		keep[c] = true
		n += size[c]
	}
	out := make([]string, 0, n)
	for _, id := range ids {
		if keep[students[id].ClassID] {
			out = append(out, id)
		}
	}
	return out
}

// has reports whether the pupil is simulated.
func (sd *simData) has(id string) bool {
	_, ok := sd.students[id]
	return ok
}

func (sd *simData) absent(id string, t time.Time) bool {
	for _, a := range sd.absences[id] {
		if !t.Before(a.Start) && t.Before(a.End) {
			return true
		}
	}
	return false
}

// simResult is one policy's run under one simulator variant, per simulated pupil.
type simResult struct {
	gain   []float64   // after the last week
	weekly [][]float64 // [week][pupil]
	inBand []float64   // share of listed items whose true P(success) is within Band of the peak
	viol   []float64   // share of listed items with a truly unmastered prerequisite
	listed []float64   // items listed per week
	tried  int
	right  int
}

// simulate has the simulated pupils follow policy p for weeks weeks under params. Each
// week: the policy lists k eligible items for every pupil (as of Monday); the class's
// lessons of the week are replayed (missed when the pupil is absent, which still
// teaches AbsentLessonShare); then the pupil works on the listed items, one answered
// item each; the policy observes the week; the week ends (forgetting). The gain of a
// pupil is the change of their mean true ability over the competencies of their level
// and the one below (everything a listed item or a lesson can touch), so that
// remediation counts. The simulator's seed is the same for every policy (common random
// numbers).
func simulate(ctx context.Context, truth *synth.Truth, params synth.Params, sd *simData, mk func(*synth.Simulator, *run) (Policy, func(time.Time)),
	el *eligibility, k, weeks int, seed uint64, tick func()) (*simResult, error) {
	sim, err := truth.SimulatorOf(params, sd.week, seed, sd.has)
	if err != nil {
		return nil, err
	}
	r := el.newRun()
	p, setClock := mk(sim, r)
	obs, _ := p.(Observer)
	n := len(sd.pupils)
	res := &simResult{inBand: make([]float64, n), viol: make([]float64, n), listed: make([]float64, n)}
	ability := func(i int) (float64, error) {
		id := sd.pupils[i]
		cs := sd.comps[datasets.LevelIndex(sd.students[id].Level)]
		s := 0.0
		for _, c := range cs {
			v, err := sim.TrueAbility(id, c)
			if err != nil {
				return 0, err
			}
			s += v
		}
		return s / float64(max(len(cs), 1)), nil
	}
	start := make([]float64, n)
	for i := range sd.pupils {
		if start[i], err = ability(i); err != nil {
			return nil, err
		}
	}
	peak := params.LearnPeak
	lists := make([][]string, n)
	for w := range weeks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		monday := sd.at.AddDate(0, 0, 7*w)
		if setClock != nil {
			setClock(monday)
		}
		for i, id := range sd.pupils {
			list, err := p.Recommend(ctx, id, pool(k))
			if err != nil {
				return nil, fmt.Errorf("week %d: %w", w, err)
			}
			lists[i] = r.keep(id, list, k)
			for _, rid := range lists[i] {
				pr, err := sim.PSuccess(id, rid)
				if err != nil {
					return nil, err
				}
				if math.Abs(pr-peak) <= Band {
					res.inBand[i]++
				}
				if trulyUnready(sim, el.cat, id, rid) {
					res.viol[i]++
				}
			}
			res.listed[i] += float64(len(lists[i]))
		}
		batch := &datasets.Dataset{}
		sunday := monday.AddDate(0, 0, 7)
		for cl, ls := range sd.lessons {
			for _, l := range ls {
				if !l.Start.Before(monday) && l.Start.Before(sunday) {
					batch.Lessons = append(batch.Lessons, l)
				}
			}
			_ = cl
		}
		slices.SortStableFunc(batch.Lessons, func(a, b datasets.Lesson) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			return compareStrings(a.ID, b.ID)
		})
		for i, id := range sd.pupils {
			st := sd.students[id]
			for _, l := range sd.lessons[st.ClassID] {
				if l.Start.Before(monday) || !l.Start.Before(sunday) {
					continue
				}
				if err := sim.Lesson(id, l.Competencies, !sd.absent(id, l.Start)); err != nil {
					return nil, err
				}
			}
			consent := st.Consent
			if consent {
				for _, a := range sd.absences[id] {
					if !a.Start.Before(monday) && a.Start.Before(sunday) {
						batch.Absences = append(batch.Absences, a)
					}
				}
			}
			saturday := monday.AddDate(0, 0, 5).Add(10 * time.Hour)
			for j, rid := range lists[i] {
				ok, err := sim.Practice(id, rid)
				if err != nil {
					return nil, err
				}
				res.tried++
				if ok {
					res.right++
					r.success(id, rid)
				}
				if consent {
					okc := ok
					batch.Statements = append(batch.Statements, datasets.Statement{
						ID: fmt.Sprintf("sim-%d-%s-%d", w, id, j), StudentID: id, ObjectID: rid,
						Verb: datasets.VerbAnswered, Success: &okc, Timestamp: saturday.Add(time.Duration(j) * time.Minute)})
				}
			}
			if tick != nil {
				tick()
			}
		}
		if obs != nil {
			if err := obs.Observe(ctx, batch); err != nil {
				return nil, fmt.Errorf("week %d: %w", w, err)
			}
		}
		sim.AdvanceWeek()
		g := make([]float64, n)
		for i := range sd.pupils {
			v, err := ability(i)
			if err != nil {
				return nil, err
			}
			g[i] = v - start[i]
		}
		res.weekly = append(res.weekly, g)
	}
	res.gain = res.weekly[len(res.weekly)-1]
	for i := range res.inBand {
		if res.listed[i] > 0 {
			res.inBand[i] /= res.listed[i]
			res.viol[i] /= res.listed[i]
		}
		res.listed[i] /= float64(weeks)
	}
	return res, nil
}

// trulyUnready reports whether one of the resource's competencies has a prerequisite the
// pupil truly has not mastered.
func trulyUnready(sim *synth.Simulator, cat *datasets.Catalogue, id, rid string) bool {
	r, _ := cat.Resource(rid)
	for _, c := range r.Competencies {
		k, _ := cat.Competency(c)
		for _, q := range k.Prerequisites {
			if pm, err := sim.PMastery(id, q); err == nil && pm < trueMastery {
				return true
			}
		}
	}
	return false
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// simWeek is the simulator week whose end the split falls on: the last week wholly
// before at.
func simWeek(truth *synth.Truth, at time.Time) (int, error) {
	start, err := time.Parse(time.RFC3339, truth.Info.Start)
	if err != nil {
		return 0, fmt.Errorf("truth start %q: %w", truth.Info.Start, err)
	}
	w := int(at.Sub(start).Hours()/(24*7)) - 1
	if w < -1 || w >= truth.Info.Weeks {
		return 0, fmt.Errorf("split %s outside the simulated year", at.Format(time.DateOnly))
	}
	return w, nil
}
