package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// sink receives what a school's simulation produces, in the order it happens. The file
// writer and the in-memory dataset are the two sinks.
type sink interface {
	student(datasets.Student)
	learner(Learner)
	lesson(datasets.Lesson)
	grade(datasets.Grade)
	absence(datasets.Absence)
	statement(datasets.Statement)
	assessment(id string, difficulty float64)
	ability(studentID string, comp int32, week int, s compState)
}

// generator holds what every school shares: the configuration and the world.
type generator struct {
	cfg        Config
	m          *model
	truthEvery int
}

// pupil is one simulated pupil and their visible behaviour.
type pupil struct {
	*pupilState
	id         string
	index      int // global pupil index
	truth      bool
	chronic    bool
	engagement float64
	selfBias   float64 // how far the pupil over- (>0) or under-estimates their ability, logits
	spellLeft  int     // school days left in the current absence spell, today included
	justified  bool    // of the current spell
	amAbsent   bool
	pmAbsent   bool
	pending    []int32 // resources the teacher assigned, not done yet
}

// runSchool simulates one school, level by level and class by class. Only one class's
// pupils are held at a time.
func (g *generator) runSchool(plan schoolPlan, out sink) {
	rng := rand.New(rand.NewPCG(plan.seed, 0x5c0))
	levels := []int{0, 1, 2, 3}
	if plan.lycee {
		levels = []int{4, 5, 6}
	}
	schoolEffect := g.cfg.Params.SchoolSD * rng.NormFloat64()
	ids := &idCounter{school: plan.index + 1}
	next := plan.first
	for li, lvl := range levels {
		n := plan.students / len(levels)
		if li < plan.students%len(levels) {
			n++
		}
		if n == 0 {
			continue
		}
		classes := max(1, int(math.Round(float64(n)/29)))
		for c := 0; c < classes; c++ {
			size := n / classes
			if c < n%classes {
				size++
			}
			cl := &class{
				g: g, out: out, ids: ids, level: lvl, lycee: plan.lycee, schoolID: plan.id,
				id:  classID(plan.id, lvl, c),
				rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
			}
			cl.setup(next, size, schoolEffect)
			cl.run()
			next += size
		}
	}
}

// classID names a class as schools do (etab-0001-4eB), numbering past the 26th.
func classID(school string, level, c int) string {
	if c < 26 {
		return fmt.Sprintf("%s-%s%c", school, datasets.Levels[level], 'A'+rune(c))
	}
	return fmt.Sprintf("%s-%s%d", school, datasets.Levels[level], c+1)
}

// idCounter numbers the rows of one school: ids are deterministic and opaque.
type idCounter struct {
	school                       int
	lessons, assessments, grades int
	absences                     int
}

func (c *idCounter) next(kind string, n *int) string {
	*n++
	var b [48]byte
	out := append(b[:0], kind...)
	out = append(out, '-')
	out = appendPadded(out, c.school, 4)
	out = append(out, '-')
	out = appendPadded(out, *n, 6)
	return string(out)
}

// appendPadded appends n in decimal, zero-padded to width digits (what %0*d does,
// without fmt's cost on millions of ids).
func appendPadded(b []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// class simulates one class through the year.
type class struct {
	g        *generator
	out      sink
	ids      *idCounter
	rng      *rand.Rand
	id       string
	schoolID string
	level    int
	lycee    bool
	pupils   []*pupil
	slots    [5][]slot
	plans    []*subjectPlan
	week     int
}

type slot struct {
	hour int
	subj *subjectPlan
}

// subjectPlan is how one teacher goes through the programme of one subject.
type subjectPlan struct {
	subj     int
	hours    int
	order    []int32
	total    int     // lessons over the teaching weeks
	given    int     // lessons given so far
	pace     float64 // > 1: faster than the programme
	finished []int32 // competencies finished since the last test
	test     []int32 // a test is held at the next lesson
	severity float64 // the teacher's tests are this much harder than the competencies
	dmWeek   int     // next homework week
}

func (p *subjectPlan) pos() int {
	return min(int(float64(p.given)*p.pace*float64(len(p.order))/float64(p.total)), len(p.order))
}

// taught returns the competencies taught so far (or the first, before any lesson).
func (p *subjectPlan) taught() []int32 {
	return p.order[:max(1, min(p.pos()+1, len(p.order)))]
}

var slotHours = []int{7, 8, 9, 10, 12, 13, 14, 15} // UTC: 8h-17h in Paris in winter

func (cl *class) setup(first, size int, schoolEffect float64) {
	g, rng, p := cl.g, cl.rng, cl.g.cfg.Params
	offset := schoolEffect + p.ClassSD*rng.NormFloat64()
	for i := 0; i < size; i++ {
		idx := first + i
		glob := rng.NormFloat64()
		speed := math.Exp(p.SpeedSD*(0.4*glob+0.9165*rng.NormFloat64()) - p.SpeedSD*p.SpeedSD/2)
		l := Learner{StudentID: fmt.Sprintf("eleve-%06d", idx+1), Level: cl.level,
			Global: round4(glob), Offset: round4(offset), Speed: round4(speed)}
		pu := &pupil{
			pupilState: g.m.newPupil(l), id: l.StudentID, index: idx,
			truth:      idx%g.truthEvery == 0,
			chronic:    rng.Float64() < 0.05,
			engagement: math.Max(0.05, math.Exp(0.6*rng.NormFloat64()-0.18)*(1+0.15*glob)),
			selfBias:   0.5 * rng.NormFloat64(),
		}
		cl.pupils = append(cl.pupils, pu)
		cl.out.student(datasets.Student{ID: l.StudentID, SchoolID: cl.schoolID, ClassID: cl.id,
			Level: datasets.Levels[cl.level], Consent: rng.Float64() < 0.92})
		cl.out.learner(l)
	}
	teaching := 0
	for w := 0; w < g.cfg.Weeks-3; w++ {
		if !g.cfg.holiday(w) {
			teaching++
		}
	}
	var lessons []*subjectPlan
	for si, subj := range subjects {
		h := weeklyHours[subj][cl.level]
		order := slices.Clone(g.m.c.plan[si][cl.level])
		if h == 0 || len(order) == 0 {
			continue
		}
		// Teachers swap neighbouring chapters that do not depend on each other.
		for i := 1; i < len(order); i++ {
			if rng.Float64() < 0.3 && !slices.Contains(g.m.c.prereq[order[i]], order[i-1]) {
				order[i-1], order[i] = order[i], order[i-1]
			}
		}
		sp := &subjectPlan{subj: si, hours: h, order: order, total: max(1, h*teaching),
			pace: 0.9 + 0.18*rng.Float64(), severity: 0.5 + 0.3*rng.NormFloat64(), dmWeek: 3 + rng.IntN(3)}
		cl.plans = append(cl.plans, sp)
		for k := 0; k < h; k++ {
			lessons = append(lessons, sp)
		}
	}
	var free [][2]int
	for d := 0; d < 5; d++ {
		for _, h := range slotHours {
			if d == 2 && h >= 12 && !cl.lycee {
				continue // no lessons on Wednesday afternoon in collège
			}
			free = append(free, [2]int{d, h})
		}
	}
	rng.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	for i, sp := range lessons[:min(len(lessons), len(free))] {
		d := free[i][0]
		cl.slots[d] = append(cl.slots[d], slot{hour: free[i][1], subj: sp})
	}
	for d := range cl.slots {
		slices.SortFunc(cl.slots[d], func(a, b slot) int { return a.hour - b.hour })
	}
}

// run plays the year week by week; each week ends with the truth snapshot and forgetting.
func (cl *class) run() {
	cfg := cl.g.cfg
	for w := 0; w < cfg.Weeks; w++ {
		cl.week = w
		monday := cfg.Start.AddDate(0, 0, 7*w)
		holiday := cfg.holiday(w)
		if !holiday {
			cl.assignWork()
		}
		sessions := cl.planSessions(monday, holiday)
		for d := 0; d < 7; d++ {
			day := monday.AddDate(0, 0, d)
			if !holiday && d < 5 {
				cl.attendance(day)
				for _, s := range cl.slots[d] {
					cl.teach(s, day.Add(time.Duration(s.hour)*time.Hour))
				}
			} else {
				for _, pu := range cl.pupils {
					pu.amAbsent, pu.pmAbsent = false, false
				}
			}
			for _, s := range sessions[d] {
				cl.session(s.pupil, s.at)
			}
		}
		cl.snapshot(w)
		for _, pu := range cl.pupils {
			cl.g.m.forget(pu.pupilState)
		}
	}
}

// attendance decides who misses the morning and the afternoon. Spells of illness last
// one to several days and are mostly justified; a few pupils are chronically absent,
// mostly without justification; anyone may skip an afternoon now and then.
func (cl *class) attendance(day time.Time) {
	for _, pu := range cl.pupils {
		pu.amAbsent, pu.pmAbsent = false, false
		if pu.spellLeft > 0 {
			pu.spellLeft--
			pu.amAbsent, pu.pmAbsent = true, true
			continue
		}
		start, skip := 0.009, 0.003
		if pu.chronic {
			start, skip = 0.04, 0.02
		}
		if cl.lycee {
			skip *= 1.5
		}
		u := cl.rng.Float64()
		switch {
		case u < start:
			n := 1 + int(cl.rng.ExpFloat64()*1.5)
			if pu.chronic {
				n = 1 + cl.rng.IntN(2)
			}
			n = min(n, 5-(int(day.Weekday())+6)%7) // spells are cut at the weekend
			justified := 0.85
			if pu.chronic {
				justified = 0.35
			}
			pu.justified = cl.rng.Float64() < justified
			pu.amAbsent, pu.pmAbsent, pu.spellLeft = true, true, n-1
			cl.out.absence(datasets.Absence{ID: cl.ids.next("abs", &cl.ids.absences), StudentID: pu.id,
				Start: day.Add(7 * time.Hour), End: day.AddDate(0, 0, n-1).Add(16 * time.Hour), Justified: pu.justified})
		case u < start+skip:
			pu.pmAbsent = true
			cl.out.absence(datasets.Absence{ID: cl.ids.next("abs", &cl.ids.absences), StudentID: pu.id,
				Start: day.Add(12 * time.Hour), End: day.Add(16 * time.Hour), Justified: cl.rng.Float64() < 0.3})
		}
	}
}

func (pu *pupil) absentAt(hour int) bool {
	if hour < 12 {
		return pu.amAbsent
	}
	return pu.pmAbsent
}
