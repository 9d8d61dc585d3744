// Package synth generates a synthetic académie: collèges and lycées with classes from 6e
// to Tle, a competency graph per subject and level, a resource catalogue, each class's
// timetable, absences, Pronote-style grades and xAPI usage, all drawn from a hidden
// learner model whose truth is written apart (truth/) for offline evaluation.
//
// # The learner model
//
// Every pupil has an ability per competency on the logit scale shared with item
// difficulties: P(success) = σ(θ − b). Abilities are correlated through a global factor
// and shifted by school and class effects (Learner, Params). A competency not yet taught
// sits Params.PriorGap below its difficulty; lessons raise it (less when missed, less as
// it nears mastery), answered items raise it most when P(success) is near
// Params.LearnPeak, studying a video or a sheet a little; every gain is damped when the
// prerequisites are not mastered, and every week the part above the floor decays by
// Params.ForgettingRate divided by the competency's memory stability, which spaced
// learning raises. Pupils choose what they use from what they perceive of their own
// ability and need, and as engaged as they are (assigned work, practice on recent
// chapters or their prerequisites, browsing): never through a recommender, so that
// policies can be compared on the data. docs/simulator.md gives the model, its sources
// and the variants (Variants) an evaluation must report.
//
// # Output and determinism
//
// Generate streams the folder school by school (memory bounded by the schools in
// flight); GenerateDataset builds the same content in memory for small académies.
// Same Config, same bytes: all randomness is PCG, seeded per school and class from
// Config.Seed, and ids are counters (eleve-000123, etab-0004, note-0004-000123...).
// Timestamps are UTC: lessons run 07:00-16:00 UTC (8h-17h in Paris in winter).
//
// truth/ holds ability.csv (student_id,competency_id,week,ability: the ability at the
// end of week w, the seven days from Start + 7w, on the competencies of the pupil's
// level and any other they practised, for every k-th pupil so that at most
// Config.TruthStudents are written; k is truth_every in simulator.json), items.csv
// (item_id,kind,difficulty: true difficulties of competencies, resources and
// assessments; resources.csv publishes a noisy estimate), learners.csv (every pupil's
// hidden traits, which fix their starting state) and simulator.json (Params, calendar).
// ReadTruth reads them back; Truth.Simulator replays the model for a policy.
//
// The package must never read real pupils' data, and nothing a recommender produces may
// influence what the simulated pupils do.
package synth
