package synth

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
)

// ErrUnknown is wrapped by the Simulator's errors about a pupil, resource or competency
// it does not know.
var ErrUnknown = errors.New("synth: unknown id")

// Simulator re-plays the learner model that generated an académie, so that an offline
// evaluation can let pupils follow a policy's recommendations and measure what they
// really learn. Obtain one from Truth.Simulator; then, week after week:
//
//	for each pupil: for each recommended resource r:
//	    ok, _ := sim.Practice(pupil, r)  // one answered item (video/sheet: studied)
//	sim.AdvanceWeek()                    // forgetting; the week counter moves on
//	gain := sim.TrueAbility(pupil, c) − before
//
// Practice draws success from σ(θ − b) with the true difficulty b and applies the same
// gains as the generator: largest when P(success) is near Params.LearnPeak, scaled by
// the prerequisites' mastery. A Simulator is deterministic for a given seed and call
// order; it is not safe for concurrent use.
type Simulator struct {
	m      *model
	pupils map[string]*pupilState
	ids    []string
	week   int
	rng    *rand.Rand
}

// Week is the number of weeks that have ended (0 at the start of the year).
func (s *Simulator) Week() int { return s.week }

// Pupils lists the simulated pupils, sorted.
func (s *Simulator) Pupils() []string { return s.ids }

func (s *Simulator) lookup(student, resource string) (*pupilState, int32, error) {
	ps, ok := s.pupils[student]
	if !ok {
		return nil, 0, fmt.Errorf("synth.Simulator: pupil %q: %w", student, ErrUnknown)
	}
	if resource == "" {
		return ps, -1, nil
	}
	r, ok := s.m.c.resIdx[resource]
	if !ok {
		return nil, 0, fmt.Errorf("synth.Simulator: resource %q: %w", resource, ErrUnknown)
	}
	return ps, int32(r), nil
}

// Practice has the pupil work on the resource: for an exercise or a quiz, one answered
// item, returning whether it was right; for a video or a sheet, studying it to the end
// (always true).
func (s *Simulator) Practice(student, resource string) (bool, error) {
	ps, r, err := s.lookup(student, resource)
	if err != nil {
		return false, err
	}
	if s.m.c.resType[r] > typeQuiz {
		s.m.study(ps, r, 1, s.week)
		return true, nil
	}
	return s.m.practice(ps, r, s.week, s.rng), nil
}

// PSuccess is the pupil's true probability of answering an item of the resource right.
func (s *Simulator) PSuccess(student, resource string) (float64, error) {
	ps, r, err := s.lookup(student, resource)
	if err != nil {
		return 0, err
	}
	return s.m.pSuccess(ps, s.m.c.resComps[r], s.m.c.resDiff[r], s.week), nil
}

// ExpectedGain is what the pupil would gain, summed over the resource's competencies,
// from working on it now (one answered item; a video or sheet studied to the end). The
// gain does not depend on the success drawn, so this is exact: an oracle may rank by it.
func (s *Simulator) ExpectedGain(student, resource string) (float64, error) {
	ps, r, err := s.lookup(student, resource)
	if err != nil {
		return 0, err
	}
	return s.m.expectedGain(ps, r, s.week), nil
}

// PMastery is the pupil's true probability of succeeding on an item of the
// competency's own difficulty: what "mastered" means when judged against the truth.
func (s *Simulator) PMastery(student, competency string) (float64, error) {
	ps, _, err := s.lookup(student, "")
	if err != nil {
		return 0, err
	}
	c, ok := s.m.c.compIdx[competency]
	if !ok {
		return 0, fmt.Errorf("synth.Simulator: competency %q: %w", competency, ErrUnknown)
	}
	return sigmoid(s.m.theta(ps, int32(c), s.week) - s.m.c.compDiff[c]), nil
}

// Params are the learning parameters this simulator runs with.
func (s *Simulator) Params() Params { return s.m.p }

// Lesson has the pupil attend (or miss) one lesson on the competencies.
func (s *Simulator) Lesson(student string, competencies []string, present bool) error {
	ps, _, err := s.lookup(student, "")
	if err != nil {
		return err
	}
	comps := make([]int32, len(competencies))
	for i, id := range competencies {
		c, ok := s.m.c.compIdx[id]
		if !ok {
			return fmt.Errorf("synth.Simulator: competency %q: %w", id, ErrUnknown)
		}
		comps[i] = int32(c)
	}
	s.m.lesson(ps, comps, present, s.week)
	return nil
}

// TrueAbility is the pupil's hidden ability on the competency, on the logit scale.
func (s *Simulator) TrueAbility(student, competency string) (float64, error) {
	ps, _, err := s.lookup(student, "")
	if err != nil {
		return 0, err
	}
	c, ok := s.m.c.compIdx[competency]
	if !ok {
		return 0, fmt.Errorf("synth.Simulator: competency %q: %w", competency, ErrUnknown)
	}
	return s.m.theta(ps, int32(c), s.week), nil
}

// TrueDifficulty is the resource's true difficulty (resources.csv holds a noisy one).
func (s *Simulator) TrueDifficulty(resource string) (float64, error) {
	r, ok := s.m.c.resIdx[resource]
	if !ok {
		return 0, fmt.Errorf("synth.Simulator: resource %q: %w", resource, ErrUnknown)
	}
	return s.m.c.resDiff[r], nil
}

// AdvanceWeek ends the week: every pupil forgets a little.
func (s *Simulator) AdvanceWeek() {
	for _, id := range s.ids {
		s.m.forget(s.pupils[id])
	}
	s.week++
}

func newSimulator(m *model, week int, seed uint64) *Simulator {
	return &Simulator{m: m, pupils: map[string]*pupilState{}, week: week, rng: rand.New(rand.NewPCG(seed, 0x51a))}
}

func (s *Simulator) add(ps *pupilState) {
	s.pupils[ps.l.StudentID] = ps
	s.ids = append(s.ids, ps.l.StudentID)
}

func (s *Simulator) sortIDs() { sort.Strings(s.ids) }
