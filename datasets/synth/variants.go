package synth

import (
	"errors"
	"fmt"
	"math"
)

// Variant is one learning law the evaluation re-simulates the test weeks with. The
// variants are fixed in advance (docs/simulator.md says why each): a recommender is
// judged under all of them, never under the one that suits it.
type Variant struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Params      Params `json:"params"`
}

// Variants returns the documented simulator variants around base (the generator's own
// Params): the default first, then the learning peak at 0.5, 0.7 and 0.85 success
// (whichever base does not already have), weak and strong forgetting, and a
// prerequisite floor under which almost nothing is learnt.
func Variants(base Params) []Variant {
	out := []Variant{{Name: "default", Description: "the generator's own learning law", Params: base}}
	for _, peak := range []float64{0.5, 0.7, 0.85} {
		if math.Abs(peak-base.LearnPeak) < 1e-9 {
			continue
		}
		p := base
		p.LearnPeak = peak
		out = append(out, Variant{Name: fmt.Sprintf("peak-%.2f", peak),
			Description: fmt.Sprintf("practice teaches most at %.0f %% success", 100*peak), Params: p})
	}
	weak, strong, floor := base, base, base
	weak.ForgettingRate = base.ForgettingRate / 3
	strong.ForgettingRate = math.Min(0.5, 3*base.ForgettingRate)
	floor.PrereqFloor = 0.05
	return append(out,
		Variant{Name: "forgetting-weak", Description: fmt.Sprintf("weekly forgetting %.3f instead of %.3f", weak.ForgettingRate, base.ForgettingRate), Params: weak},
		Variant{Name: "forgetting-strong", Description: fmt.Sprintf("weekly forgetting %.3f instead of %.3f", strong.ForgettingRate, base.ForgettingRate), Params: strong},
		Variant{Name: "prerequisite-floor", Description: "without mastered prerequisites only 5 % of a gain is kept (instead of " + fmt.Sprintf("%.0f %%)", 100*base.PrereqFloor), Params: floor},
	)
}

// validate rejects parameters the model cannot run with.
func (p Params) validate() error {
	var errs []error
	if !(p.LearnPeak > 0 && p.LearnPeak < 1) || !(p.LearnWidth > 0) {
		errs = append(errs, fmt.Errorf("learn_peak %v must be in (0,1) and learn_width %v > 0", p.LearnPeak, p.LearnWidth))
	}
	if !(p.ForgettingRate >= 0 && p.ForgettingRate < 1) {
		errs = append(errs, fmt.Errorf("forgetting_rate %v outside [0,1)", p.ForgettingRate))
	}
	if !(p.PrereqFloor >= 0 && p.PrereqFloor <= 1) {
		errs = append(errs, fmt.Errorf("prereq_floor %v outside [0,1]", p.PrereqFloor))
	}
	if p.SpacingGain < 0 || p.SpacingWeeks < 0 {
		errs = append(errs, fmt.Errorf("spacing_gain %v and spacing_weeks %v must be ≥ 0", p.SpacingGain, p.SpacingWeeks))
	}
	return errors.Join(errs...)
}
