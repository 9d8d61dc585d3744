package recommender

import (
	"math"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// The learning curve behind the target success: practice answers binned by the success
// predicted for them, targetBins bins of equal width over (0, 1).
const (
	targetBins = 10
	// targetGap is the longest time between two answers on one competency for the second
	// to tell what the first taught.
	targetGap = 14 * 24 * time.Hour
	// targetMinPairs is the fewest answer pairs a bin needs to be a candidate target.
	targetMinPairs = 200
	// defaultTarget is used when the data cannot tell (too few pairs, or no bin stands
	// out of the noise): the middle of the 0.6–0.85 range the tutoring literature gives.
	defaultTarget = 0.7
)

// targetChoice is the target success chosen from the logged data, with the curve it was
// read from, so that an analyst can see why.
type targetChoice struct {
	Target float64 `json:"target"`
	// FromData is false when the data could not tell and defaultTarget was used.
	FromData bool `json:"from_data"`
	// Curve is, per bin of predicted success, the mean residual (outcome − prediction)
	// of the next answer on the same competency, and how many pairs it averages.
	Curve []targetBin `json:"curve"`
}

type targetBin struct {
	Lo       float64 `json:"lo"`
	Hi       float64 `json:"hi"`
	Residual float64 `json:"residual"`
	SE       float64 `json:"se"`
	Pairs    int     `json:"pairs"`
}

// chooseTarget reads from the logged answers how much practice at each predicted success
// teaches, and picks the predicted success that teaches most. It replays each sampled
// pupil's answers in time order through the student model's online update; for two
// consecutive answers on the same competency within targetGap, the second one's
// residual (outcome − the prediction made just before it, which already includes the
// first outcome) is what the model did not expect: learning since. It is credited to the
// bin of the success predicted for the first answer. The target is the centre of the
// bin with the largest mean residual (smoothed over neighbouring bins), provided that
// bin has targetMinPairs pairs and stands above the pairs' overall mean by two standard
// errors; otherwise defaultTarget, marked as not from data.
//
// Caveat, stated in docs: this is observational. Lessons between two answers raise the
// residual whatever the first answer's bin, and pupils who practise at low predicted
// success may be those the model underestimates; the smoothing and the two-SE rule keep
// noise from moving the target, not confounding.
func chooseTarget(cat *datasets.Catalogue, model *features.Model, pupils []features.PupilEvents, sample []int) targetChoice {
	type acc struct{ s, ss float64 }
	sums := make([]acc, targetBins)
	counts := make([]int, targetBins)
	type last struct {
		bin int
		at  time.Time
	}
	for _, i := range sample {
		ev := &pupils[i]
		prof := features.Profile{StudentID: ev.Student.ID, Level: ev.Student.Level, Competencies: map[string]features.CompetencyState{}}
		lasts := map[string]last{}
		for _, s := range ev.Statements {
			r, ok := cat.Resource(s.ObjectID)
			y, has := s.Outcome()
			practice := ok && has && !isStudy(&r) && len(r.Competencies) > 0
			var p float64
			if practice {
				p = model.Predict(&prof, &r)
				c := r.Competencies[0]
				if l, ok := lasts[c]; ok && s.Timestamp.Sub(l.at) <= targetGap {
					res := -p
					if y {
						res = 1 - p
					}
					sums[l.bin].s += res
					sums[l.bin].ss += res * res
					counts[l.bin]++
				}
			}
			if err := model.Update(cat, &prof, s); err != nil {
				continue
			}
			if practice {
				lasts[r.Competencies[0]] = last{bin: min(targetBins-1, int(p*targetBins)), at: s.Timestamp}
			}
		}
	}
	tc := targetChoice{Target: defaultTarget}
	total, totalN := 0.0, 0
	for b := range targetBins {
		tb := targetBin{Lo: float64(b) / targetBins, Hi: float64(b+1) / targetBins, Pairs: counts[b]}
		if n := float64(counts[b]); n > 1 {
			tb.Residual = sums[b].s / n
			v := (sums[b].ss - n*tb.Residual*tb.Residual) / (n - 1)
			tb.SE = math.Sqrt(max(v, 0) / n)
		}
		total += sums[b].s
		totalN += counts[b]
		tc.Curve = append(tc.Curve, tb)
	}
	if totalN == 0 {
		return tc
	}
	overall := total / float64(totalN)
	best, bestVal := -1, math.Inf(-1)
	for b, tb := range tc.Curve {
		if tb.Pairs < targetMinPairs {
			continue
		}
		// Smoothed: the pair-weighted mean of the bin and its neighbours.
		s, n := 0.0, 0
		for d := -1; d <= 1; d++ {
			if j := b + d; j >= 0 && j < targetBins {
				s += sums[j].s
				n += counts[j]
			}
		}
		if v := s / float64(n); v > bestVal {
			best, bestVal = b, v
		}
	}
	if best < 0 {
		return tc
	}
	if tb := tc.Curve[best]; tb.Residual-overall > 2*tb.SE {
		tc.Target = (tb.Lo + tb.Hi) / 2
		tc.FromData = true
	}
	return tc
}

// effectiveTarget is the configured target when set, else the one Refit chose.
func effectiveTarget(configured float64, agg *aggregates) float64 {
	switch {
	case configured > 0 && configured < 1:
		return configured
	case agg.Target != nil && agg.Target.Target > 0 && agg.Target.Target < 1:
		return agg.Target.Target
	}
	return defaultTarget
}
