package synth

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// Params are the learner model's parameters, written to truth/simulator.json so that an
// evaluation can re-simulate pupils. Abilities and difficulties share one logit scale:
// a pupil of ability θ succeeds on an item of difficulty b with probability σ(θ − b).
type Params struct {
	// Seed draws the pupil-and-competency specific part of every ability (see Learner).
	Seed uint64 `json:"seed"`
	// PracticeRate is the logit gain of one answered item whose success probability is
	// exactly LearnPeak; the gain falls off as a Gaussian of width LearnWidth (in
	// probability) around it: too easy or too hard practice teaches little (region of
	// proximal learning). Where the peak lies is not known: docs/simulator.md fixes
	// variants at 0.5, 0.7 and 0.85 and the evaluation reports each.
	PracticeRate float64 `json:"practice_rate"`
	LearnPeak    float64 `json:"learn_peak"`
	LearnWidth   float64 `json:"learn_width"`
	// StudyRate is the gain of watching a video or reading a sheet to the end.
	StudyRate float64 `json:"study_rate"`
	// LessonRate is the gain of attending one lesson on the competency; it shrinks as
	// the ability nears the competency's difficulty + Ceiling (gain·2σ(d+Ceiling−θ)).
	LessonRate float64 `json:"lesson_rate"`
	Ceiling    float64 `json:"ceiling"`
	// AbsentLessonShare is the share of a lesson's gain a pupil who missed it still gets
	// (catching up from a classmate's notes).
	AbsentLessonShare float64 `json:"absent_lesson_share"`
	// ForgettingRate is the share of the ability above the floor lost each week by a
	// competency of memory stability 1; a competency of stability s loses
	// ForgettingRate/s (Ebbinghaus's curve, Pimsleur's growing intervals).
	ForgettingRate float64 `json:"forgetting_rate"`
	// SpacingGain is how much one week with learning on a competency adds to its
	// stability when the previous learning on it is long past; a week right after the
	// previous one adds SpacingGain·(1 − exp(−1/SpacingWeeks)): spaced study is
	// remembered longer than massed study (Cepeda et al. 2006).
	SpacingGain  float64 `json:"spacing_gain"`
	SpacingWeeks float64 `json:"spacing_weeks"`
	// PriorGap: before being taught, a competency sits PriorGap below its difficulty
	// (plus the pupil's terms); that is also the floor forgetting decays towards.
	PriorGap float64 `json:"prior_gap"`
	// CarryOver is how far above the floor a competency of an earlier level starts.
	CarryOver float64 `json:"carry_over"`
	// GlobalLoading weighs the pupil's global factor in every competency; SpecificSD is
	// the spread of the pupil-and-competency specific part.
	GlobalLoading float64 `json:"global_loading"`
	SpecificSD    float64 `json:"specific_sd"`
	// SchoolSD and ClassSD spread the school and class effects that make up Offset;
	// SpeedSD is the log-normal spread of learning speeds.
	SchoolSD float64 `json:"school_sd"`
	ClassSD  float64 `json:"class_sd"`
	SpeedSD  float64 `json:"speed_sd"`
	// PrereqFloor is the share of any gain left when no prerequisite is mastered; it
	// rises linearly to 1 with the mean P(success) on the prerequisites.
	PrereqFloor float64 `json:"prereq_floor"`
}

// DefaultParams are the parameters Generate uses when Config.Params is zero.
func DefaultParams() Params {
	return Params{
		PracticeRate: 0.06, LearnPeak: 0.7, LearnWidth: 0.2,
		StudyRate: 0.03, LessonRate: 0.2, Ceiling: 1.5, AbsentLessonShare: 0.25,
		ForgettingRate: 0.03, SpacingGain: 0.4, SpacingWeeks: 2,
		PriorGap: 1.5, CarryOver: 1.3,
		GlobalLoading: 0.8, SpecificSD: 0.5, SchoolSD: 0.3, ClassSD: 0.25, SpeedSD: 0.3,
		PrereqFloor: 0.4,
	}
}

// Learner is the hidden, constant part of a pupil (truth/learners.csv). With Params and
// the true competency difficulties it fixes the pupil's starting ability everywhere:
//
//	floor(c)   = d(c) − PriorGap + Offset + GlobalLoading·Global + SpecificSD·ε(Seed, pupil, c)
//	initial(c) = floor(c) + CarryOver if c belongs to an earlier level than the pupil's, else floor(c)
//
// where ε is a standard normal drawn from a hash of the seed and both ids.
type Learner struct {
	StudentID string  `json:"student_id"`
	Level     int     `json:"level"`  // index into datasets.Levels
	Global    float64 `json:"global"` // the global factor, N(0,1)
	Offset    float64 `json:"offset"` // school + class effect
	Speed     float64 `json:"speed"`  // multiplies every gain
}

// model applies Params to pupils of one curriculum. It holds no mutable state.
type model struct {
	p Params
	c *curriculum
}

// compState is the pupil's memory of one competency.
type compState struct {
	theta float64 // ability, logits
	stab  float32 // memory stability: a week forgets ForgettingRate/stab of what is above the floor
	last  int16   // week of the latest learning on it; noLearning when none
}

const noLearning = -1

// pupilState is one pupil's current abilities: dense over the competencies of their own
// level (what is taught this year), sparse elsewhere; a competency never touched keeps
// the closed form floor + (initial − floor)·(1 − ForgettingRate)^week.
type pupilState struct {
	l      Learner
	lo, hi int
	seedID uint64 // hash of the student id, for ε
	own    []compState
	floors []float64 // floor of each own-level competency
	extra  map[int32]compState
	order  []int32 // extra competencies in the order they were first touched
}

func (m *model) newPupil(l Learner) *pupilState {
	ps := &pupilState{l: l, lo: m.c.levelLo[l.Level], hi: m.c.levelLo[l.Level+1], seedID: hashID(l.StudentID)}
	ps.own = make([]compState, ps.hi-ps.lo)
	ps.floors = make([]float64, ps.hi-ps.lo)
	for i := range ps.own {
		ps.floors[i] = m.floor(ps, int32(ps.lo+i))
		ps.own[i] = compState{theta: m.initial(ps, int32(ps.lo+i)), stab: 1, last: noLearning}
	}
	return ps
}

// epsilon is the pupil-and-competency specific standard normal, a pure function of the
// seed and the two ids so that it never depends on the order pupils are simulated in.
func (m *model) epsilon(ps *pupilState, c int32) float64 {
	x := splitmix(m.p.Seed ^ ps.seedID ^ m.c.compHash[c])
	y := splitmix(x)
	u1 := (float64(x>>11) + 0.5) / (1 << 53)
	u2 := float64(y>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

func hashID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return splitmix(h.Sum64())
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (m *model) floor(ps *pupilState, c int32) float64 {
	return m.c.compDiff[c] - m.p.PriorGap + ps.l.Offset + m.p.GlobalLoading*ps.l.Global + m.p.SpecificSD*m.epsilon(ps, c)
}

func (m *model) initial(ps *pupilState, c int32) float64 {
	f := m.floor(ps, c)
	if m.c.compLvl[c] < ps.l.Level {
		f += m.p.CarryOver
	}
	return f
}

// theta is the pupil's ability on c at the given week.
func (m *model) theta(ps *pupilState, c int32, week int) float64 {
	return m.state(ps, c, week).theta
}

// state is the pupil's memory of c at the given week.
func (m *model) state(ps *pupilState, c int32, week int) compState {
	if int(c) >= ps.lo && int(c) < ps.hi {
		return ps.own[int(c)-ps.lo]
	}
	if v, ok := ps.extra[c]; ok {
		return v
	}
	if m.c.compLvl[c] >= ps.l.Level {
		// not taught yet: initial is the floor, nothing to forget
		return compState{theta: m.floor(ps, c), stab: 1, last: noLearning}
	}
	return compState{theta: m.floor(ps, c) + m.p.CarryOver*math.Pow(1-m.p.ForgettingRate, float64(week)), stab: 1, last: noLearning}
}

func (m *model) put(ps *pupilState, c int32, s compState) {
	if int(c) >= ps.lo && int(c) < ps.hi {
		ps.own[int(c)-ps.lo] = s
		return
	}
	if ps.extra == nil {
		ps.extra = map[int32]compState{}
	}
	if _, ok := ps.extra[c]; !ok {
		ps.order = append(ps.order, c)
	}
	ps.extra[c] = s
}

// add is a learning event on c: the ability grows by gain and, the first time in a
// week, the memory stabilises by an amount that grows with the gap since the last
// week of learning on c (the spacing effect).
func (m *model) add(ps *pupilState, c int32, week int, gain float64) {
	s := m.state(ps, c, week)
	s.theta += gain
	if gain > 0 && int(s.last) != week {
		gap := 1e9
		if s.last != noLearning {
			gap = float64(week - int(s.last))
		}
		s.stab += float32(m.p.SpacingGain * (1 - math.Exp(-gap/max(m.p.SpacingWeeks, 1e-9))))
		s.last = int16(week)
	}
	m.put(ps, c, s)
}

// restore sets the pupil's memory of c (a truth snapshot).
func (m *model) restore(ps *pupilState, c int32, s compState) { m.put(ps, c, s) }

// prereqFactor scales gains on c by how well its prerequisites are mastered.
func (m *model) prereqFactor(ps *pupilState, c int32, week int) float64 {
	pre := m.c.prereq[c]
	if len(pre) == 0 {
		return 1
	}
	var s float64
	for _, q := range pre {
		s += sigmoid(m.theta(ps, q, week) - m.c.compDiff[q])
	}
	return m.p.PrereqFloor + (1-m.p.PrereqFloor)*s/float64(len(pre))
}

// pSuccess is the probability that the pupil succeeds on an item of difficulty b about
// the given competencies (the mean of their abilities).
func (m *model) pSuccess(ps *pupilState, comps []int32, b float64, week int) float64 {
	var s float64
	for _, c := range comps {
		s += m.theta(ps, c, week)
	}
	return sigmoid(s/float64(len(comps)) - b)
}

// practice answers one item of resource r: success is drawn from σ(θ − b), then every
// competency of the resource gains according to how well the item was targeted (the
// first competency fully, the others half).
func (m *model) practice(ps *pupilState, r int32, week int, rng *rand.Rand) bool {
	comps := m.c.resComps[r]
	p := m.pSuccess(ps, comps, m.c.resDiff[r], week)
	ok := rng.Float64() < p
	d := (p - m.p.LearnPeak) / m.p.LearnWidth
	g := m.p.PracticeRate * ps.l.Speed * math.Exp(-0.5*d*d)
	for i, c := range comps {
		w := 1.0
		if i > 0 {
			w = 0.5
		}
		m.add(ps, c, week, w*g*m.prereqFactor(ps, c, week))
	}
	return ok
}

// expectedGain is the sum over r's competencies of what working on r now would add.
func (m *model) expectedGain(ps *pupilState, r int32, week int) float64 {
	comps := m.c.resComps[r]
	var g float64
	if m.c.resType[r] > typeQuiz {
		for i, c := range comps {
			w := 1.0
			if i > 0 {
				w = 0.5
			}
			sat := 2 * sigmoid(m.c.compDiff[c]+m.p.Ceiling-m.theta(ps, c, week))
			g += w * m.p.StudyRate * ps.l.Speed * sat * m.prereqFactor(ps, c, week)
		}
		return g
	}
	p := m.pSuccess(ps, comps, m.c.resDiff[r], week)
	d := (p - m.p.LearnPeak) / m.p.LearnWidth
	base := m.p.PracticeRate * ps.l.Speed * math.Exp(-0.5*d*d)
	for i, c := range comps {
		w := 1.0
		if i > 0 {
			w = 0.5
		}
		g += w * base * m.prereqFactor(ps, c, week)
	}
	return g
}

// study is watching a video or reading a sheet; share is the part consumed (0..1).
func (m *model) study(ps *pupilState, r int32, share float64, week int) {
	for i, c := range m.c.resComps[r] {
		w := share
		if i > 0 {
			w *= 0.5
		}
		sat := 2 * sigmoid(m.c.compDiff[c]+m.p.Ceiling-m.theta(ps, c, week))
		m.add(ps, c, week, w*m.p.StudyRate*ps.l.Speed*sat*m.prereqFactor(ps, c, week))
	}
}

// lesson is one lesson on comps, attended or missed.
func (m *model) lesson(ps *pupilState, comps []int32, present bool, week int) {
	share := 1.0
	if !present {
		share = m.p.AbsentLessonShare
	}
	for _, c := range comps {
		sat := 2 * sigmoid(m.c.compDiff[c]+m.p.Ceiling-m.theta(ps, c, week))
		m.add(ps, c, week, share*m.p.LessonRate*ps.l.Speed*sat*m.prereqFactor(ps, c, week)/float64(len(comps)))
	}
}

// forget ends a week: what was learnt decays towards the floor, the more slowly the
// more stable the memory.
func (m *model) forget(ps *pupilState) {
	for i := range ps.own {
		s := &ps.own[i]
		if f := ps.floors[i]; s.theta > f {
			s.theta = f + (s.theta-f)*(1-m.p.ForgettingRate/float64(max(s.stab, 1)))
		}
	}
	for _, c := range ps.order {
		s := ps.extra[c]
		if f := m.floor(ps, c); s.theta > f {
			s.theta = f + (s.theta-f)*(1-m.p.ForgettingRate/float64(max(s.stab, 1)))
			ps.extra[c] = s
		}
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
