package features

import (
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// Curriculum-position factors of Need (see doc.go).
const (
	RelevanceTaught     = 1.0                 // taught in the pupil's class already
	RelevanceWorked     = 0.8                 // not taught in class, but the pupil has evidence on it
	RelevanceLevel      = 0.8                 // of the pupil's level, when the class has no timetable to tell
	RelevanceLevelLater = 0.3                 // of the pupil's level, not taught yet
	RelevanceEarlier    = 0.5                 // of an earlier level (revision)
	RelevanceOther      = 0.1                 // of a later level, or an unknown one
	EvidenceScale       = 3.0                 // observations at which confidence is one half
	MissedBoost         = 0.5                 // need added towards 1 right after a missed lesson...
	MissedHalfLife      = 30 * 24 * time.Hour // ...halving every 30 days
)

// relevance is the curriculum-position factor of a competency for a pupil.
func relevance(k datasets.Competency, level string, taught, hasTimetable, evidence bool) float64 {
	switch {
	case taught:
		return RelevanceTaught
	case evidence:
		return RelevanceWorked
	}
	kl, pl := datasets.LevelIndex(k.Level), datasets.LevelIndex(level)
	switch {
	case kl < 0 || pl < 0:
		return RelevanceOther
	case kl == pl && !hasTimetable:
		return RelevanceLevel
	case kl == pl:
		return RelevanceLevelLater
	case kl < pl:
		return RelevanceEarlier
	}
	return RelevanceOther
}

// need is how much the pupil should work on a competency now, in [0, 1]:
//
//	confidence u = N / (N + EvidenceScale)
//	base        = u·(1 − PMastery) + (1 − u)·0.5      (little evidence: moderate need)
//	b           = Relevance · base
//	need        = b + (1 − b)·MissedBoost·Decay(asOf − lesson, MissedHalfLife)
//
// where the missed-lesson term applies when the latest missed lesson on it is more recent
// than the latest evidence (the pupil has not worked on it since).
func need(cs CompetencyState, asOf time.Time) float64 {
	lastMissed := cs.LastMissed
	n := float64(cs.N)
	u := n / (n + EvidenceScale)
	b := cs.Relevance * (u*(1-cs.PMastery) + (1-u)*0.5)
	if !lastMissed.IsZero() && lastMissed.After(cs.LastEvidence) {
		b += (1 - b) * MissedBoost * Decay(asOf.Sub(lastMissed), MissedHalfLife)
	}
	return min(max(b, 0), 1)
}
