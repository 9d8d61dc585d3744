// Package offline is the offline evaluation of the recommender for analysts
// (`parcours eval recommend`): it splits a data folder on one global timeline, lists
// resources for every pupil with Parcours, its ablations and reference policies through
// one yardstick, scores the lists against what pupils then succeeded on, and — when the
// folder holds the generator's truth/ — has the restorable pupils follow each policy in
// the learner simulator under every simulator variant (synth.Variants, docs/simulator.md)
// to measure what they learn. It writes report.md, report.json and PNG plots.
//
// # How a policy plugs in
//
// Parcours is measured through the served engine only: recommender.Engine built with
// Config.Engine, the recommender.Config that serve builds from the same environment
// (cmd/parcours engineConfig); the evaluation sets only Seed, Now (the simulated clock)
// and Location. A change to the engine's ranking is measured as it is, with no policy
// code to write. An ablation or an arm evaluated beside the default (exploration, a
// bandit) is one line in Variants: {"parcours-<name>", func(c *recommender.Config){...}};
// each gets its own engine and store, is scored and simulated, and its paired effect
// against "parcours" is reported (a variant whose removal changes nothing is flagged).
//
// Any other policy implements Policy (Name, Recommend(ctx, pupil, k)) and, to learn as
// the weeks go, Observer: Observe(ctx, batch) receives each simulated week's batch as
// the service would ingest it (the consenting simulated pupils' statements and absences,
// the lessons of their classes).
//
// # The yardstick
//
// Every policy is asked for pool(k) = min(100, 2k) items; the first k eligible ones are
// kept (eligibility: exercise or quiz, the pupil's level or the one below, not already
// succeeded). No policy learns from or personalises for a pupil without consent. All
// comparisons are paired per pupil, with bootstrap CIs resampling schools (else classes,
// else pupils) and Holm's correction over each family of comparisons. Prerequisite
// violations and the in-band share are judged against the simulator's truth. The
// headline is the share of the oracle's headroom captured: (gain − no_recommendation) /
// (oracle − no_recommendation), with its CI.
//
// It must never let anything dated after the split reach a policy's training data,
// never read truth/ for anything but scoring, simulation and the oracle, and never write
// outside the output folder. Every random draw is seeded from Config.Seed.
package offline
