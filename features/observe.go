package features

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// obs is one outcome the student model learns from: a scored grade (item = its
// assessment) or an xAPI statement with a result on a catalogue resource.
type obs struct {
	t          time.Time
	item       string
	assessment bool
	comps      []string
	d0         float64 // starting difficulty: the catalogue's for a resource, 0 for an assessment
	y          float64 // outcome in [0, 1]
	w          float64 // weight of the update
	// lesson marks a lesson on comps rather than an outcome: lessonAttended or
	// lessonMissed (a learning opportunity, no outcome; item, y and w unused).
	lesson uint8
}

// Kinds of lesson observation.
const (
	lessonAttended uint8 = 1
	lessonMissed   uint8 = 2
)

// maxGradeWeight caps a grade's weight in the model: a coefficient-8 exam is strong
// evidence, but one mark must not move an ability eight times as far as an exercise.
const maxGradeWeight = 2.0

// gradeObs turns a scored grade into an observation, or reports why it is malformed.
// ok is false (with a nil error) for a status row, which never counts as a zero, and for
// a coefficient of 0, which Pronote shows but leaves out of averages.
func gradeObs(cat *datasets.Catalogue, g *datasets.Grade) (o obs, ok bool, err error) {
	if err := checkGrade(cat, g); err != nil {
		return obs{}, false, err
	}
	if !g.Scored() || g.Coefficient == 0 {
		return obs{}, false, nil
	}
	return obs{t: g.Date, item: g.AssessmentID, assessment: true, comps: g.Competencies,
		y: g.Score / g.OutOf, w: min(math.Sqrt(g.Coefficient), maxGradeWeight)}, true, nil
}

func invalid(kind, id, field, format string, a ...any) error {
	return &datasets.Error{File: kind, Field: field, Msg: fmt.Sprintf("%s: ", id) + fmt.Sprintf(format, a...)}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// checkGrade validates what the model relies on. Errors wrap datasets.ErrInvalid.
func checkGrade(cat *datasets.Catalogue, g *datasets.Grade) error {
	for _, c := range g.Competencies {
		if _, ok := cat.CompetencyIndex(c); !ok {
			return invalid("grade", g.ID, "competencies", "unknown competency %q", c)
		}
	}
	if g.Date.IsZero() {
		return invalid("grade", g.ID, "date", "missing")
	}
	if !g.Scored() {
		if !slices.Contains(datasets.GradeStatuses, g.Status) {
			return invalid("grade", g.ID, "status", "unknown status %q", g.Status)
		}
		return nil
	}
	switch {
	case g.AssessmentID == "":
		return invalid("grade", g.ID, "assessment_id", "missing")
	case !finite(g.OutOf) || g.OutOf <= 0:
		return invalid("grade", g.ID, "out_of", "%v is not a positive number", g.OutOf)
	case !finite(g.Score) || g.Score < 0 || g.Score > g.OutOf:
		return invalid("grade", g.ID, "score", "%v is not within 0..%v", g.Score, g.OutOf)
	case !finite(g.Coefficient) || g.Coefficient < 0:
		return invalid("grade", g.ID, "coefficient", "%v is not a non-negative number", g.Coefficient)
	}
	return nil
}

// checkStatement validates the result fields the features read.
func checkStatement(s *datasets.Statement) error {
	if s.Timestamp.IsZero() {
		return invalid("statement", s.ID, "timestamp", "missing")
	}
	if s.Scaled != nil && (!finite(*s.Scaled) || *s.Scaled < -1 || *s.Scaled > 1) {
		return invalid("statement", s.ID, "result.score.scaled", "%v is not within -1..1", *s.Scaled)
	}
	if s.Duration != nil && *s.Duration < 0 {
		return invalid("statement", s.ID, "result.duration", "negative")
	}
	return nil
}

// feeds reports whether a verb feeds the features (the contract's list).
func feeds(verb string) bool {
	switch verb {
	case datasets.VerbExperienced, datasets.VerbAttempted, datasets.VerbAnswered, datasets.VerbCompleted,
		datasets.VerbPassed, datasets.VerbFailed, datasets.VerbProgressed, datasets.VerbScored, datasets.VerbViewed:
		return true
	}
	return false
}

// summary verbs close an attempt; their result aggregates the answers sent before.
func summary(verb string) bool {
	switch verb {
	case datasets.VerbCompleted, datasets.VerbPassed, datasets.VerbFailed, datasets.VerbScored:
		return true
	}
	return false
}

// statementOutcome reads an outcome in [0, 1]: result.success, else result.score.scaled
// clamped to 0..1 (a negative xAPI score is a penalty: no better than 0), else the
// passed/failed verbs. Views, progress and completions without a result carry none.
func statementOutcome(s *datasets.Statement) (y float64, ok bool) {
	switch {
	case s.Verb == datasets.VerbViewed || s.Verb == datasets.VerbExperienced || s.Verb == datasets.VerbProgressed:
		return 0, false
	case s.Success != nil:
		if *s.Success {
			return 1, true
		}
		return 0, true
	case s.Scaled != nil:
		return min(max(*s.Scaled, 0), 1), true
	case s.Verb == datasets.VerbPassed:
		return 1, true
	case s.Verb == datasets.VerbFailed:
		return 0, true
	}
	return 0, false
}

// attemptTracker remembers the resources with answers sent since their attempt began,
// oldest first, so that the summary statement closing an attempt (completed/passed/
// failed/scored with the share of correct answers) is not counted a second time. An
// abandoned attempt is never closed: the tracker keeps the maxOpenAttempts latest.
type attemptTracker []string

const maxOpenAttempts = 16

func (at *attemptTracker) remove(id string) bool {
	for i, r := range *at {
		if r == id {
			*at = append((*at)[:i], (*at)[i+1:]...)
			return true
		}
	}
	return false
}

func (at *attemptTracker) open(id string) {
	at.remove(id)
	if len(*at) == maxOpenAttempts {
		*at = append((*at)[:0], (*at)[1:]...)
	}
	*at = append(*at, id)
}

// observe classifies one statement. It returns the observation for the model when the
// statement carries a new outcome on a catalogue resource. counted is false for a
// summary whose answers were already counted (its duration is then not added either).
func (at *attemptTracker) observe(cat *datasets.Catalogue, s *datasets.Statement) (o obs, hasObs, counted bool) {
	r, known := cat.Resource(s.ObjectID)
	switch {
	case s.Verb == datasets.VerbAttempted:
		at.remove(s.ObjectID)
	case s.Verb == datasets.VerbAnswered:
		at.open(s.ObjectID)
	case summary(s.Verb) && at.remove(s.ObjectID):
		return obs{}, false, false
	}
	y, ok := statementOutcome(s)
	if !ok || !known {
		return obs{}, false, true
	}
	return obs{t: s.Timestamp, item: r.ID, comps: r.Competencies, d0: r.Difficulty, y: y, w: 1}, true, true
}
