package offline

import (
	"context"
	"fmt"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
)

// simWeeks is how many weeks pupils follow a policy in the simulator.
const simWeeks = 4

// GainResult is the simulated learning gain of one policy.
type GainResult struct {
	// Gain is the change of true ability (logits), per pupil the mean over the
	// competencies of their level, after the last simulated week.
	Gain Interval `json:"learning_gain"`
	// ByWeek is the mean gain after each week.
	ByWeek []Interval `json:"by_week"`
	// SuccessRate is the share of practised items answered right.
	SuccessRate float64 `json:"success_rate"`
}

// simulate has every pupil the simulator restores at the split follow policy p for
// weeks weeks: each week each pupil works on the k resources p recommends (one item
// each), p observes the outcomes, then the week ends. Lessons are not replayed, so
// the gain is what the recommended practice alone brings. The simulator's seed is the
// same for every policy (common random numbers).
func simulate(ctx context.Context, truth *synth.Truth, week int, at time.Time, cat *datasets.Catalogue,
	students map[string]datasets.Student, p Policy, k, weeks int, seed uint64, boot int) (GainResult, error) {
	sim, err := truth.Simulator(week, seed)
	if err != nil {
		return GainResult{}, fmt.Errorf("simulate %s: %w", p.Name(), err)
	}
	var pupils []string
	for _, id := range sim.Pupils() {
		if _, ok := students[id]; ok {
			pupils = append(pupils, id)
		}
	}
	comps := map[string][]string{}
	for _, c := range cat.Competencies {
		comps[c.Level] = append(comps[c.Level], c.ID)
	}
	ability := func(id string) (float64, error) {
		cs := comps[students[id].Level]
		if len(cs) == 0 {
			return 0, nil
		}
		s := 0.0
		for _, c := range cs {
			v, err := sim.TrueAbility(id, c)
			if err != nil {
				return 0, err
			}
			s += v
		}
		return s / float64(len(cs)), nil
	}
	start := map[string]float64{}
	for _, id := range pupils {
		v, err := ability(id)
		if err != nil {
			return GainResult{}, fmt.Errorf("simulate %s: %w", p.Name(), err)
		}
		start[id] = v
	}
	obs, _ := p.(Observer)
	var res GainResult
	tried, right := 0, 0
	for w := range weeks {
		day := at.AddDate(0, 0, 7*w)
		var stmts []datasets.Statement
		for _, id := range pupils {
			recs, err := p.Recommend(ctx, id, k)
			if err != nil {
				return GainResult{}, fmt.Errorf("simulate %s: week %d: %w", p.Name(), w, err)
			}
			for i, r := range recs {
				ok, err := sim.Practice(id, r)
				if err != nil {
					return GainResult{}, fmt.Errorf("simulate %s: %w", p.Name(), err)
				}
				rsc, _ := cat.Resource(r)
				ts := day.Add(time.Duration(17*60+i) * time.Minute)
				st := datasets.Statement{ID: fmt.Sprintf("sim-%d-%s-%d", w, id, i), StudentID: id, ObjectID: r, Timestamp: ts}
				if rsc.Type == datasets.ResourceExercise || rsc.Type == datasets.ResourceQuiz {
					st.Verb = datasets.VerbAnswered
					st.Success = &ok
					tried++
					if ok {
						right++
					}
				} else {
					st.Verb = datasets.VerbCompleted
					st.Completion = &ok
				}
				stmts = append(stmts, st)
			}
		}
		if obs != nil {
			if err := obs.Observe(ctx, stmts); err != nil {
				return GainResult{}, fmt.Errorf("simulate: week %d: %w", w, err)
			}
		}
		sim.AdvanceWeek()
		gains := make([]float64, 0, len(pupils))
		for _, id := range pupils {
			v, err := ability(id)
			if err != nil {
				return GainResult{}, fmt.Errorf("simulate %s: %w", p.Name(), err)
			}
			gains = append(gains, v-start[id])
		}
		res.ByWeek = append(res.ByWeek, Bootstrap(gains, boot, 0.95, seed+uint64(w)))
	}
	if len(res.ByWeek) > 0 {
		res.Gain = res.ByWeek[len(res.ByWeek)-1]
	}
	if tried > 0 {
		res.SuccessRate = float64(right) / float64(tried)
	}
	return res, nil
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
