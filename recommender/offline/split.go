package offline

import (
	"fmt"
	"slices"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// Split is a global temporal split of a data folder.
type Split struct {
	// At is the boundary: events strictly before it train, events from it on test. It is
	// the Monday 00:00 UTC on or before the Quantile of statement times, so that it falls
	// on the simulator's week boundary.
	At       time.Time
	Quantile float64
	// On says which event times the quantile is of: "statements", or "grades" for a
	// folder without usage.
	On    string
	Train *datasets.Dataset
	// Truth holds, per pupil, the resources first succeeded on in the test period: a
	// statement at or after At with success (result.success true, else scaled ≥ 0.5, else
	// verb passed), on a resource the pupil had not succeeded on before At, and not
	// voided by any statement.
	Truth map[string]map[string]bool
	// TrainSuccess holds, per pupil, the resources succeeded on before At.
	TrainSuccess map[string]map[string]bool
	// TestStatements counts the statements at or after At.
	TestStatements int
}

// mondayOnOrBefore truncates t to Monday 00:00 UTC of its week.
func mondayOnOrBefore(t time.Time) time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// SplitAt cuts ds at time at. Training keeps the catalogue and students in full, and the
// grades (by date), absences and lessons (by start) and statements (by timestamp)
// strictly before at; a void issued after at does not withdraw a training statement
// (it was not known then).
func SplitAt(ds *datasets.Dataset, at time.Time) *Split {
	sp := &Split{At: at, Truth: map[string]map[string]bool{}, TrainSuccess: map[string]map[string]bool{}}
	train := &datasets.Dataset{Competencies: ds.Competencies, Resources: ds.Resources, Students: ds.Students}
	b := datasets.Events{Grades: ds.Grades, Absences: ds.Absences, Lessons: ds.Lessons}.Before(at)
	train.Grades, train.Absences, train.Lessons = b.Grades, b.Absences, b.Lessons
	voidedLater := map[string]bool{}
	trainIDs := map[string]bool{}
	for _, s := range ds.Statements {
		if s.Timestamp.Before(at) {
			trainIDs[s.ID] = true
		}
	}
	for _, s := range ds.Statements {
		if s.Verb == datasets.VerbVoided {
			voidedLater[s.ObjectID] = true
		}
	}
	for _, s := range ds.Statements {
		if s.Timestamp.Before(at) {
			if s.Verb == datasets.VerbVoided && !trainIDs[s.ObjectID] {
				continue // would void a test statement the training data does not hold
			}
			train.Statements = append(train.Statements, s)
			if ok, has := s.Outcome(); ok && has {
				add(sp.TrainSuccess, s.StudentID, s.ObjectID)
			}
		}
	}
	for _, s := range ds.Statements {
		if s.Timestamp.Before(at) {
			continue
		}
		sp.TestStatements++
		if voidedLater[s.ID] || s.Verb == datasets.VerbVoided {
			continue
		}
		if ok, has := s.Outcome(); ok && has && !sp.TrainSuccess[s.StudentID][s.ObjectID] {
			add(sp.Truth, s.StudentID, s.ObjectID)
		}
	}
	sp.Train = train
	return sp
}

// SplitQuantile cuts ds at the Monday on or before the q-quantile of statement times
// (q in (0,1), e.g. 0.75); of grade dates when the folder has no usage at all.
func SplitQuantile(ds *datasets.Dataset, q float64) (*Split, error) {
	if q <= 0 || q >= 1 {
		return nil, fmt.Errorf("offline.SplitQuantile: quantile %v outside (0,1)", q)
	}
	ts := make([]time.Time, 0, len(ds.Statements))
	for _, s := range ds.Statements {
		ts = append(ts, s.Timestamp)
	}
	on := "statements"
	if len(ts) == 0 {
		on = "grades"
		for _, g := range ds.Grades {
			ts = append(ts, g.Date)
		}
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("offline.SplitQuantile: no usage statement and no grade to split on: %w", datasets.ErrInvalid)
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	sp := SplitAt(ds, mondayOnOrBefore(ts[int(float64(len(ts)-1)*q)]))
	sp.Quantile, sp.On = q, on
	return sp, nil
}

func add(m map[string]map[string]bool, a, b string) {
	if m[a] == nil {
		m[a] = map[string]bool{}
	}
	m[a][b] = true
}
