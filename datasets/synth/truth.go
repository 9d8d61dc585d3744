package synth

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/parcours-ent/parcours/datasets"
)

// Truth is what the generator knows and the data folder hides: the simulator's
// parameters, every pupil's hidden traits, true difficulties and weekly abilities.
type Truth struct {
	Info     SimulatorInfo
	Learners []Learner
	// Difficulty holds the true difficulty of every competency, resource and
	// assessment, by id.
	Difficulty map[string]float64

	m         *model
	weeks     int
	abilities map[abilityKey][]memCell // per week; NaN ability before the competency was tracked
	learner   map[string]int
}

type abilityKey struct {
	student string
	comp    int32
}

// Ability is the pupil's true ability on the competency at the end of the given week,
// for pupils whose trajectory was kept (all of them in GenerateDataset; every
// Info.TruthEvery-th in a folder). week −1 is the start of the year, known for every
// pupil.
func (t *Truth) Ability(student, competency string, week int) (float64, bool) {
	li, ok := t.learner[student]
	c, ok2 := t.m.c.compIdx[competency]
	if !ok || !ok2 || week < -1 || week >= t.weeks {
		return 0, false
	}
	if week >= 0 {
		if !t.hasTrajectory(student) {
			return 0, false
		}
		if v, ok := t.abilities[abilityKey{student, int32(c)}]; ok && !math.IsNaN(float64(v[week].a)) {
			return float64(v[week].a), true
		}
	}
	// Never touched so far: the closed form is exact.
	ps := &pupilState{l: t.Learners[li], lo: -1, hi: -1, seedID: hashID(student)}
	return t.m.theta(ps, int32(c), max(week, 0)), true
}

func (t *Truth) hasTrajectory(student string) bool {
	first := t.m.c.levelLo[t.Learners[t.learner[student]].Level]
	_, ok := t.abilities[abilityKey{student, int32(first)}]
	return ok
}

// Simulator returns a simulator of the pupils as they stand at the end of week
// afterWeek (−1: at the start of the year, before any teaching), learning by the
// generator's own Params. For afterWeek ≥ 0 only pupils with a kept trajectory can be
// restored, so only they are simulated. seed drives the successes the simulator draws.
func (t *Truth) Simulator(afterWeek int, seed uint64) (*Simulator, error) {
	return t.SimulatorWith(t.Info.Params, afterWeek, seed)
}

// SimulatorWith is Simulator with other learning parameters from the restored state on
// (a simulator variant, see Variants): the pupils' past, and so their state at
// afterWeek, stay those the generator produced; p.Seed is ignored (the pupils' draws
// are the generator's).
func (t *Truth) SimulatorWith(p Params, afterWeek int, seed uint64) (*Simulator, error) {
	return t.SimulatorOf(p, afterWeek, seed, nil)
}

// SimulatorOf is SimulatorWith restoring only the pupils keep says yes to (all when keep
// is nil): an evaluation that simulates a sample of an académie holds only that sample's
// state. Only Practice draws random numbers, so a pupil's draws depend on the calls made
// for the simulated pupils alone, not on which other pupils are restored.
func (t *Truth) SimulatorOf(p Params, afterWeek int, seed uint64, keep func(string) bool) (*Simulator, error) {
	if afterWeek < -1 || afterWeek >= t.weeks {
		return nil, fmt.Errorf("synth.Truth.Simulator: week %d outside -1..%d", afterWeek, t.weeks-1)
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("synth.Truth.Simulator: %w", err)
	}
	p.Seed = t.m.p.Seed
	m := &model{p: p, c: t.m.c}
	s := newSimulator(m, max(afterWeek, 0), seed)
	for _, l := range t.Learners {
		if afterWeek >= 0 && !t.hasTrajectory(l.StudentID) || keep != nil && !keep(l.StudentID) {
			continue
		}
		ps := m.newPupil(l)
		if afterWeek >= 0 {
			for c := 0; c < len(m.c.comps); c++ {
				v, ok := t.abilities[abilityKey{l.StudentID, int32(c)}]
				if !ok || math.IsNaN(float64(v[afterWeek].a)) {
					continue
				}
				m.restore(ps, int32(c), compState{theta: float64(v[afterWeek].a), stab: v[afterWeek].stab, last: v[afterWeek].last})
			}
		}
		s.add(ps)
	}
	s.sortIDs()
	return s, nil
}

func newTruth(g *generator) *Truth {
	t := &Truth{Info: g.info(), m: g.m, weeks: g.cfg.Weeks, Difficulty: map[string]float64{},
		abilities: map[abilityKey][]memCell{}, learner: map[string]int{}}
	for i, k := range g.m.c.comps {
		t.Difficulty[k.ID] = g.m.c.compDiff[i]
	}
	for i, r := range g.m.c.res {
		t.Difficulty[r.ID] = g.m.c.resDiff[i]
	}
	return t
}

func (t *Truth) addLearner(l Learner) {
	t.learner[l.StudentID] = len(t.Learners)
	t.Learners = append(t.Learners, l)
}

// memCell is one week of a kept trajectory: ability, stability, last learning week.
type memCell struct {
	a    float32
	stab float32
	last int16
}

func (t *Truth) setAbility(student string, comp int32, week int, v compState) {
	setAbility(t.abilities, t.weeks, abilityKey{student, comp}, week, v)
}

func setAbility(traj map[abilityKey][]memCell, weeks int, k abilityKey, week int, v compState) {
	row, ok := traj[k]
	if !ok {
		row = make([]memCell, weeks)
		for i := range row {
			row[i] = memCell{a: float32(math.NaN()), stab: 1, last: noLearning}
		}
		traj[k] = row
	}
	row[week] = memCell{a: float32(round4(v.theta)), stab: float32(round4(float64(v.stab))), last: v.last}
}

// memSink keeps one school's output in memory.
type memSink struct {
	d        datasets.Dataset
	learners []Learner
	assess   []assessRow
	weeks    int
	traj     map[abilityKey][]memCell
}

type assessRow struct {
	id string
	b  float64
}

func (s *memSink) student(x datasets.Student)     { s.d.Students = append(s.d.Students, x) }
func (s *memSink) learner(l Learner)              { s.learners = append(s.learners, l) }
func (s *memSink) lesson(x datasets.Lesson)       { s.d.Lessons = append(s.d.Lessons, x) }
func (s *memSink) grade(x datasets.Grade)         { s.d.Grades = append(s.d.Grades, x) }
func (s *memSink) absence(x datasets.Absence)     { s.d.Absences = append(s.d.Absences, x) }
func (s *memSink) statement(x datasets.Statement) { s.d.Statements = append(s.d.Statements, x) }
func (s *memSink) assessment(id string, b float64) {
	s.assess = append(s.assess, assessRow{id, b})
}
func (s *memSink) ability(id string, c int32, w int, v compState) {
	setAbility(s.traj, s.weeks, abilityKey{id, c}, w, v)
}
func (s *memSink) flush() error { return nil }

// GenerateDataset builds the académie in memory: the same content Generate writes (a
// LoadFolder of Generate's folder gives an equal Dataset), with the truth kept for every
// pupil. Meant for small académies such as the embedded demo.
func GenerateDataset(cfg Config) (*datasets.Dataset, *Truth, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	cfg.TruthStudents = cfg.Students
	g := newGenerator(cfg)
	t := newTruth(g)
	d := &datasets.Dataset{
		Competencies: slices.Clone(g.m.c.comps),
		Resources:    slices.Clone(g.m.c.res),
	}
	err = g.runParallel(planSchools(cfg), func() flushSink {
		return &memSink{weeks: cfg.Weeks, traj: map[abilityKey][]memCell{}}
	}, func(_ schoolPlan, fs flushSink) error {
		s := fs.(*memSink)
		d.Students = append(d.Students, s.d.Students...)
		d.Lessons = append(d.Lessons, s.d.Lessons...)
		d.Grades = append(d.Grades, s.d.Grades...)
		d.Absences = append(d.Absences, s.d.Absences...)
		d.Statements = append(d.Statements, s.d.Statements...)
		for _, l := range s.learners {
			t.addLearner(l)
		}
		for _, a := range s.assess {
			t.Difficulty[a.id] = a.b
		}
		maps.Copy(t.abilities, s.traj) // keys are per pupil: no two schools share one
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("synth.GenerateDataset: %w", err)
	}
	return d, t, nil
}
