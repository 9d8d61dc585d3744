package recommender

import "github.com/parcours-ent/parcours/datasets"

// policy is the ranking knobs one request runs with: the engine's configuration, or an
// experiment arm's override of it (Request.Policy).
type policy struct {
	target     float64
	explore    string
	noReRanker bool
	ranker     string // RankerDefault, RankerLearning or RankerBlend
}

// policyFor is the one place the ranking reads its knobs from: the engine's
// configuration with the request's override (already checked by CheckPolicy) applied.
func (e *Engine) policyFor(s *snapshot, r Request) policy {
	pol := policy{target: s.target, explore: e.cfg.Explore, noReRanker: e.cfg.NoReRanker, ranker: e.cfg.Ranker}
	o := r.Policy
	if o == nil {
		return pol
	}
	if o.TargetSuccess > 0 {
		pol.target = o.TargetSuccess
	}
	if o.Explore != nil {
		pol.explore = ExploreNone
		if *o.Explore {
			pol.explore = ExploreThompson
		}
	}
	switch o.Ranker {
	case RankerReRank:
		pol.noReRanker = false // still the benefit when no re-ranker could be fitted
	case RankerBenefit:
		pol.noReRanker = true
	case RankerLearning, RankerBlend:
		pol.ranker = o.Ranker
	}
	return pol
}

// CheckPolicy refuses an override the engine cannot honour, naming the field.
func CheckPolicy(o *PolicyOverride) error {
	if o == nil {
		return nil
	}
	if o.TargetSuccess < 0 || o.TargetSuccess >= 1 {
		return datasets.Errorf(ErrInvalid, "policy.target_success", "target success %g outside (0, 1)", o.TargetSuccess)
	}
	switch o.Ranker {
	case RankerDefault, RankerReRank, RankerBenefit, RankerLearning, RankerBlend:
	default:
		return datasets.Errorf(ErrInvalid, "policy.ranker", "unknown ranker %q (want %q, %q, %q or %q)", o.Ranker, RankerReRank, RankerBenefit, RankerLearning, RankerBlend)
	}
	return nil
}
