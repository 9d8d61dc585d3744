// Package features turns a pupil's grades, absences and resource usage into what the
// recommender reads: a student model that predicts success, per-competency mastery and
// need, and vectors whose dot product means "this resource serves this pupil's needs".
//
// It is pure computation: it must never do I/O (no files, network, clock or logging),
// never keep a pupil's data beyond the call that received it, and never draw unseeded
// randomness. Same input, same output.
//
// # The student model (Model)
//
// An Elo/IRT logistic model in the spirit of Pelánek (2016, "Applications of the Elo
// rating system in adaptive educational systems"), with a fitted combination layer;
// the equations, references and measurements are in docs/student-model.md. The Elo
// part (the profile's state):
//
//	z = θ_s + mean over the item's competencies c of θ_sc − d_i
//
// After each outcome y ∈ [0, 1] with weight w: θ_s += w·K(n_s)·(y − σ(z)),
// θ_sc += w·γ·K(n_sc)·(y − σ(z))/|C| (a compensatory item shares its update), and in
// FitItems only d_i −= w·K(n_i)·(y − σ(z)), K(n) = α / (1 + β·n). Each competency also
// keeps weighted successes and failures, an R-PFA recency-weighted success rate and the
// time of its latest evidence. P(success) is σ(z) without a layer (ModelConfig.Plain,
// NoLayer: the default) or the logistic layer of layer.go over the global part, the
// per-competency part, the counts, the days since the latest evidence and the recent
// rate, fitted (gonum L-BFGS) at FitItems on the outcomes of the training pass.
// CompetencyState.Theta is θ_s + λ·θ_sc, λ the layer's weight ratio (1 without it):
// the shrinkage of the per-competency estimate toward the global ability.
//
// Items are resources (xAPI outcomes) and assessments (grades, keyed by assessment_id).
// Outcomes: a scored grade gives y = score/out_of with w = min(√coefficient, 2) (a
// coefficient-0 mark and every status row — absent, dispense, … — give nothing: never
// a zero). A statement gives y from result.success, else result.score.scaled clamped to
// 0..1 (xAPI's −1..1 scale: a negative score is a penalty, no better than 0; mapping
// −1..1 linearly would read a scaled 0, a total failure, as a half success), else the
// passed/failed verbs. Views, experienced, progressed and completions without a result
// carry no outcome. The summary statement that closes an attempt (completed, passed,
// failed, scored) is not counted again when answered statements were sent since the
// attempt began. Statements on an object outside the catalogue feed usage only.
//
// A resource's Difficulty is the learned one once MinItemN pupils answered it, else its
// prior: the catalogue's plus the mean offset (learned − catalogue difficulty) of its
// competencies' learned resources (of every learned resource when none of them has
// one). On logs without catalogue difficulties the prior is the mean learned difficulty
// of the item's skills; an item learns from that prior. Fit learns items pupil
// after pupil, each pupil in time order, then builds every profile with the final
// difficulties, so a profile from Fit equals what BuildProfile gives afterwards.
//
// # Mastery (PMastery)
//
// PMastery is θ mapped to a calibrated probability, not a BKT hidden-Markov chain:
// σ(Theta), the chance this pupil succeeds on an exercise of the competency of
// difficulty 0, the catalogue's "average" difficulty. Chosen because it is consistent
// with Predict (one model, one scale), it uses graded, fractional and binary evidence
// alike where BKT needs binarised answers and four parameters per competency that
// school data are too sparse to learn, and it moves smoothly with evidence. Subtracting
// a per-competency reference (the mean learned difficulty of its resources) was tried
// and dropped: on the synthetic académie it lowered the rank correlation with the true
// mastery across competencies from 0.76 to 0.70 (learned difficulties are relative to
// the pupils who happened to answer, which adds noise between competencies).
//
// # Grade, absence and usage features
//
//   - GradeFeatures: per competency and per subject, Mean = Σ c·0.5^(age/half-life)·y /
//     Σ c·0.5^(age/half-life) (DefaultGradeHalfLife 60 days), N, Weight (the decayed
//     Σ c: evidence) and Trend (coefficient-weighted mean of the recent half of the grades
//     minus the older half: above +0.05 improving, below −0.05 falling; from 3 grades).
//   - AbsenceSummary: share of lesson time missed over 30 and 90 days (absences
//     intersected with the class timetable), unjustified share of the missed time, and
//     the days of the spell in progress. MissedLessons: lessons at least half missed,
//     with their competencies and dates, for catch-up and its explanation.
//   - UsageFeatures: active days (UTC), sessions (30-minute gaps), completion rate
//     (completed / seen resources), success rate of outcomes, time spent (durations,
//     attempts' summaries not counted twice), seen and completed resources.
//
// # Need (CompetencyState.Need, 0..1)
//
//	u    = N / (N + 3)                                 confidence from evidence
//	base = u·(1 − PMastery) + (1 − u)·0.5              little evidence: moderate need
//	b    = Relevance · base
//	Need = b + (1 − b)·0.5·0.5^(days since the missed lesson / 30)
//
// the last term only when the latest missed lesson on it is later than the latest
// evidence. Relevance (curriculum position): 1 taught in the pupil's class already;
// 0.8 worked on by the pupil outside that; of the pupil's level: 0.3 not yet taught
// (0.8 when the class has no timetable to tell); 0.5 an earlier level (revision);
// 0.1 a later level. A profile holds the competencies of the pupil's level, those taught
// in class, missed or with evidence; any other has Need 0.
//
// # Vectors (Layout), SchemaVersion 1
//
// Both vectors have Dim() = C + 3 + 8 float32 dims, C the catalogue's competencies in
// catalogue order (at most MaxCompetencyDims = 1989; a larger catalogue hashes ids
// into that many buckets by FNV-1a, the student taking the largest need of a bucket, so
// that Dim ≤ 2000, pgvector's HNSW limit):
//
//	dims          student                             resource
//	[0, C)        Need per competency                 1/len(competencies) on each of its own
//	C             absence rate over 30 days           0.15 · self-study fit (video, sheet 1; exercise 0.5; quiz 0.3)
//	C+1           1 − Engagement                      0.15 · (1 − min(duration/30 min, 1))   short helps the disengaged
//	C+2           Engagement                          0.10 · min(duration/30 min, 1)
//	[C+3, C+11)   0.3 · unit(a·V·Σ⁻¹)                 0.3 · unit(V row)                        latent usage factors
//
// so dot(student, resource) ≈ the mean need over the resource's competencies (≤ 1), plus
// at most about 0.3 from attendance, engagement and usage affinity. Engagement =
// 0.5·min(sessions/20, 1) + 0.5·completion rate. V, Σ come from a randomised truncated
// SVD (seeded projection, two power iterations, gonum's SVD of the small matrix) of the
// binary pupil × resource usage matrix; a is the pupil's row (seen resources). The
// layout (competency order, V, Σ) is persisted with the model state: stored vectors are
// comparable only with vectors of the same layout. Bump SchemaVersion on any change.
//
// # Evaluation on interaction logs (EvalMastery)
//
// `parcours eval mastery` drives this same Model, not a copy: the log becomes a
// catalogue (skills → competencies, items → resources with catalogue difficulty 0) and
// xAPI "answered" statements; FitItems on the training file, then each test answer is
// predicted with Predict before Update applies it to the pupil's profile. Item
// parameters change only at refits, as in the service (a full refit on every answer so
// far, at the service's hourly interval in log time, at most MaxRefits per test period).
// See docs/student-model.md.
package features
