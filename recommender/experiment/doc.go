// Package experiment runs online experiments on the recommender: an analyst defines arms
// (policy overrides the engine honours: recommender.PolicyOverride), classes of the
// schools and levels included are assigned to arms (deterministic, balanced within each
// school × level, stored), served lists record the arm (exposures), the ENT page and the
// xAPI statements tell which listed resources were opened and completed, and Analyze
// estimates each arm's effect on the primary outcome with a cluster bootstrap by class.
//
// The unit is always the class: every pupil of a class gets the same policy, so that a
// teacher sees one policy per class. Pupils without consent are never in an experiment
// (they get non-personalised lists, with no arm and no exposure), a teacher may take their
// class out at any time, and analyses only ever leave the package as aggregates over at
// least MinGroup pupils.
//
// It must never hand a pupil's id or outcome to an analyst: Analysis holds counts, means
// and intervals only.
package experiment
