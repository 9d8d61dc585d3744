package synth

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// session is one sitting of a pupil on the ENT's resources.
type session struct {
	pupil *pupil
	at    time.Time
}

// assignWork: each week some teachers give the class an exercise or quiz on the chapter
// under way, picked near the chapter's published difficulty.
func (cl *class) assignWork() {
	c := cl.g.m.c
	for _, sp := range cl.plans {
		if cl.rng.Float64() >= 0.35 {
			continue
		}
		comp := sp.order[min(sp.pos(), len(sp.order)-1)]
		pool := c.byComp[comp]
		best, bestGap := int32(-1), math.Inf(1)
		for k := 0; k < 4; k++ {
			r := pool[cl.rng.IntN(len(pool))]
			if c.resType[r] > typeQuiz {
				continue
			}
			if gap := math.Abs(c.res[r].Difficulty - c.compDiff[comp]); gap < bestGap {
				best, bestGap = r, gap
			}
		}
		if best < 0 {
			continue
		}
		for _, pu := range cl.pupils {
			if len(pu.pending) == 3 {
				pu.pending = pu.pending[1:]
			}
			pu.pending = append(pu.pending, best)
		}
	}
}

// planSessions draws the week's sittings: about 0.6 a week for a pupil of average
// engagement (less in the holidays), after school or at the weekend.
func (cl *class) planSessions(monday time.Time, holiday bool) [7][]session {
	var out [7][]session
	for _, pu := range cl.pupils {
		rate := 0.6 * pu.engagement
		if holiday {
			rate *= 0.35
		}
		for n := poisson(cl.rng, rate); n > 0; n-- {
			d := cl.rng.IntN(7)
			at := monday.AddDate(0, 0, d).Add(16*time.Hour + time.Duration(cl.rng.IntN(270))*time.Minute)
			if d >= 5 || holiday {
				at = monday.AddDate(0, 0, d).Add(8*time.Hour + time.Duration(cl.rng.IntN(600))*time.Minute)
			}
			out[d] = append(out[d], session{pupil: pu, at: at})
		}
	}
	for d := range out {
		slices.SortStableFunc(out[d], func(a, b session) int { return a.at.Compare(b.at) })
	}
	return out
}

// session plays one sitting: one to a few resources (more for engaged pupils), each
// either assigned work, self-directed work on a recent chapter, or browsing the level's
// catalogue. Self-directed work depends on the pupil: they go to the chapter they feel
// least sure of, step back to a prerequisite they feel shaky on, turn to a video or a
// sheet more often when they struggle, and pick exercises they expect to get mostly
// right. What they feel is their true ability seen through a lasting self-estimate bias
// and day-to-day noise; a recommender never enters into it.
func (cl *class) session(pu *pupil, at time.Time) {
	if pu.amAbsent && pu.pmAbsent && pu.justified && cl.rng.Float64() < 0.7 {
		return // ill at home
	}
	c := cl.g.m.c
	for n := 1 + min(poisson(cl.rng, 0.3+0.4*min(pu.engagement, 2)), 3); n > 0; n-- {
		var r int32
		u := cl.rng.Float64()
		switch {
		case len(pu.pending) > 0 && u < 0.55:
			r, pu.pending = pu.pending[0], pu.pending[1:]
		case u < 0.8:
			r = cl.selfDirected(pu)
		default:
			lvl := cl.level
			if lvl > 0 && cl.rng.Float64() < 0.3 {
				lvl--
			}
			r = c.byLevel[lvl][cl.rng.IntN(len(c.byLevel[lvl]))]
		}
		at = cl.use(pu, r, at).Add(time.Duration(30+cl.rng.IntN(120)) * time.Second)
	}
}

// perceived is the pupil's own estimate of their P(success) on competency c at its
// difficulty.
func (cl *class) perceived(pu *pupil, c int32) float64 {
	m := cl.g.m
	return sigmoid(m.theta(pu.pupilState, c, cl.week) - m.c.compDiff[c] + pu.selfBias + 0.3*cl.rng.NormFloat64())
}

// selfDirected is the resource a pupil chooses to work on by themself.
func (cl *class) selfDirected(pu *pupil) int32 {
	m, c := cl.g.m, cl.g.m.c
	sp := cl.plans[cl.pickPlan()]
	taught := sp.taught()
	recent := taught[max(0, len(taught)-3):]
	var need [3]float64
	total := 0.0
	for i, k := range recent {
		need[i] = 0.2 + 1 - cl.perceived(pu, k)
		total += need[i]
	}
	comp := recent[len(recent)-1]
	for i, x := 0, cl.rng.Float64()*total; i < len(recent); i++ {
		if x < need[i] {
			comp = recent[i]
			break
		}
		x -= need[i]
	}
	feel := cl.perceived(pu, comp)
	if pre := c.prereq[comp]; len(pre) > 0 && cl.rng.Float64() < 0.5*(1-feel) {
		if q := pre[cl.rng.IntN(len(pre))]; cl.perceived(pu, q) < 0.6 {
			comp, feel = q, cl.perceived(pu, q) // remediation, possibly of an earlier level
		}
	}
	pool := c.byComp[comp]
	study := cl.rng.Float64() < 0.15+0.4*(1-feel)
	best, bestGap := pool[cl.rng.IntN(len(pool))], math.Inf(1)
	for k := 0; k < 4; k++ {
		r := pool[cl.rng.IntN(len(pool))]
		if (c.resType[r] > typeQuiz) != study {
			continue
		}
		// Pupils like to succeed: they aim at about 75 % by the published difficulty.
		th := m.theta(pu.pupilState, comp, cl.week) + pu.selfBias
		gap := math.Abs(sigmoid(th-c.res[r].Difficulty) - 0.75)
		if gap < bestGap {
			best, bestGap = r, gap
		}
	}
	return best
}

func (cl *class) pickPlan() int {
	total := 0
	for _, sp := range cl.plans {
		total += sp.hours
	}
	k := cl.rng.IntN(total)
	for i, sp := range cl.plans {
		if k < sp.hours {
			return i
		}
		k -= sp.hours
	}
	return len(cl.plans) - 1
}

// use emits the statements of one use of resource r starting at t, applies what the
// pupil learns from it, and returns when the pupil is done.
func (cl *class) use(pu *pupil, r int32, t time.Time) time.Time {
	c, m, rng := cl.g.m.c, cl.g.m, cl.rng
	res := &c.res[r]
	full := time.Duration(res.DurationMin) * time.Minute
	var last datasets.Statement
	switch c.resType[r] {
	case typeVideo, typeSheet:
		share := 0.3 + 0.7*rng.Float64()
		done := rng.Float64() < 0.65
		if c.resType[r] == typeSheet {
			done = rng.Float64() < 0.35
		}
		if done {
			share = 1
		}
		d := jitter(rng, time.Duration(float64(full)*share))
		last = cl.statement(pu, datasets.VerbViewed, res.ID, t, nil, nil, nil, &d)
		t = t.Add(d)
		if done {
			last = cl.statement(pu, datasets.VerbCompleted, res.ID, t, nil, nil, ptr(true), &d)
		}
		m.study(pu.pupilState, r, share, cl.week)
	default:
		n := 1 + rng.IntN(3)
		verbDone := datasets.VerbCompleted
		if c.resType[r] == typeQuiz {
			n = 2 + rng.IntN(3)
		}
		abandon := rng.Float64() < 0.12
		if abandon {
			n = 1 + rng.IntN(n)
		}
		cl.statement(pu, datasets.VerbAttempted, res.ID, t, nil, nil, nil, nil)
		start, wins := t, 0
		for i := 0; i < n; i++ {
			ok := m.practice(pu.pupilState, r, cl.week, rng)
			d := jitter(rng, full/time.Duration(n+1))
			t = t.Add(d)
			sc := 0.0
			if ok {
				wins++
				sc = 1
			}
			last = cl.statement(pu, datasets.VerbAnswered, res.ID, t, &sc, ptr(ok), nil, &d)
		}
		if !abandon {
			sc := round4(float64(wins) / float64(n))
			pass := sc >= 0.5
			if c.resType[r] == typeQuiz {
				verbDone = datasets.VerbFailed
				if pass {
					verbDone = datasets.VerbPassed
				}
			}
			d := t.Sub(start)
			last = cl.statement(pu, verbDone, res.ID, t, &sc, ptr(pass), ptr(true), &d)
		}
	}
	if rng.Float64() < 0.004 {
		// The ENT's player sent the last statement twice; it voids the copy later.
		dup := last
		dup.ID = cl.uuid()
		dup.Timestamp = t.Add(time.Second)
		cl.out.statement(dup)
		cl.statement(pu, datasets.VerbVoided, dup.ID, t.Add(time.Duration(1+rng.IntN(10))*time.Minute), nil, nil, nil, nil)
	}
	return t
}

func (cl *class) statement(pu *pupil, verb, object string, t time.Time, scaled *float64, success, completion *bool, d *time.Duration) datasets.Statement {
	s := datasets.Statement{ID: cl.uuid(), StudentID: pu.id, Verb: verb, ObjectID: object, Timestamp: t,
		Scaled: scaled, Success: success, Completion: completion, Duration: d}
	cl.out.statement(s)
	return s
}

// uuid is a version 4 UUID drawn from the class's seeded stream.
func (cl *class) uuid() string {
	a, b := cl.rng.Uint64(), cl.rng.Uint64()
	a = a&^0xf000 | 0x4000
	b = b&^(0xc<<60) | 0x8<<60
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], a)
	binary.BigEndian.PutUint64(raw[8:], b)
	var out [36]byte
	hex.Encode(out[0:8], raw[0:4])
	hex.Encode(out[9:13], raw[4:6])
	hex.Encode(out[14:18], raw[6:8])
	hex.Encode(out[19:23], raw[8:10])
	hex.Encode(out[24:], raw[10:])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return string(out[:])
}

// snapshot writes the week's true abilities of the pupils whose trajectory is kept.
func (cl *class) snapshot(w int) {
	for _, pu := range cl.pupils {
		if !pu.truth {
			continue
		}
		for i, v := range pu.own {
			cl.out.ability(pu.id, int32(pu.lo+i), w, v)
		}
		for _, c := range pu.order {
			cl.out.ability(pu.id, c, w, pu.extra[c])
		}
	}
}

func jitter(rng *rand.Rand, d time.Duration) time.Duration {
	d = time.Duration(float64(d) * (0.6 + 0.8*rng.Float64()))
	return d.Truncate(time.Second) + time.Second
}

func poisson(rng *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func ptr[T any](v T) *T { return &v }
