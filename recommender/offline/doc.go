// Package offline is the offline evaluation of the recommender for analysts
// (`parcours eval recommend`): it splits a data folder on one global timeline, ranks
// resources for every pupil with Parcours, its ablations and baselines behind one
// Policy interface, scores the lists against what pupils then succeeded on (ranking
// metrics at k, coverage, novelty, diversity, prerequisite violations, bootstrap
// confidence intervals, slices), and — when the folder holds the generator's truth/ —
// lets pupils follow each policy in the learner simulator to measure the learning gain.
// It writes report.md, report.json and PNG plots.
//
// It must never let anything dated after the split reach a policy's training data,
// never read truth/ for anything but scoring and simulation, and never write outside
// the output folder. Every random draw is seeded from Config.Seed.
package offline
