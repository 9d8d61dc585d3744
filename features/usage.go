package features

import (
	"slices"
	"sort"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// SessionGap is the silence after which the next statement opens a new session.
const SessionGap = 30 * time.Minute

// usageAcc accumulates usage features statement by statement, in time order; the same
// code serves the batch build and the online update.
type usageAcc struct {
	u *UsageFeatures
}

// add folds one statement that feeds the features. counted is false for a summary
// statement whose answers were already counted (its duration is then already in).
func (a usageAcc) add(s *datasets.Statement, known, counted bool) {
	u := a.u
	day := s.Timestamp.UTC().Truncate(24 * time.Hour)
	if u.LastActive.IsZero() || day.After(u.LastActive.UTC().Truncate(24*time.Hour)) {
		u.ActiveDays++
	}
	if u.LastActive.IsZero() || s.Timestamp.Sub(u.LastActive) > SessionGap {
		u.Sessions++
	}
	if s.Timestamp.After(u.LastActive) {
		u.LastActive = s.Timestamp
	}
	if counted && s.Duration != nil {
		u.TimeSpentMin += s.Duration.Minutes()
	}
	if !known {
		return
	}
	u.Seen = insertSorted(u.Seen, s.ObjectID)
	if (s.Completion != nil && *s.Completion) || s.Verb == datasets.VerbCompleted || s.Verb == datasets.VerbPassed {
		u.Completed = insertSorted(u.Completed, s.ObjectID)
	}
	if y, ok := statementOutcome(s); ok && counted {
		u.Attempts++
		if y >= 0.5 {
			u.Successes++
		}
	}
	u.CompletionRate = ratio(len(u.Completed), len(u.Seen))
	u.SuccessRate = ratio(u.Successes, u.Attempts)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func insertSorted(xs []string, x string) []string {
	i, found := slices.BinarySearch(xs, x)
	if found {
		return xs
	}
	return slices.Insert(xs, i, x)
}

// sortedStatements returns the statements dated by asOf, by timestamp (stable): the
// slice itself when it already is (stores return them in order), else a sorted copy.
func sortedStatements(ss []datasets.Statement, asOf time.Time) []datasets.Statement {
	inOrder := true
	for i := range ss {
		if ss[i].Timestamp.After(asOf) || (i > 0 && ss[i].Timestamp.Before(ss[i-1].Timestamp)) {
			inOrder = false
			break
		}
	}
	if inOrder {
		return ss
	}
	out := make([]datasets.Statement, 0, len(ss))
	for _, s := range ss {
		if !s.Timestamp.After(asOf) {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp.Before(out[j].Timestamp) })
	return out
}
