package experiment

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// Unit of assignment: the class, the only one there is.
const UnitClass = "class"

// Primary outcomes.
const (
	// OutcomeLaterSuccess: success on the graded assessments (grades with a mark, and xAPI
	// statements with an outcome) of the competencies recommended to the pupil, dated after
	// the pupil's first exposure. The default, as the issue defines it.
	OutcomeLaterSuccess = "later_success"
	// OutcomeLaterGrades: the same on grades only, so that the answers to the recommended
	// exercises themselves (easier ones under an easier policy) do not count.
	OutcomeLaterGrades = "later_grades"
)

// Bounds of a definition.
const (
	MaxArms        = 8
	MaxDuration    = 366 * 24 * time.Hour
	MaxFollowUp    = 120
	DefaultFollow  = 28
	maxNameBytes   = 200
	maxDescription = 2000
	maxListed      = 1000 // schools or levels
)

// Arm is one policy of an experiment: the knobs of recommender.PolicyOverride.
type Arm struct {
	Name string `json:"name"`
	// TargetSuccess in (0, 1); 0: the engine's.
	TargetSuccess float64 `json:"target_success,omitempty"`
	// Explore: Thompson sampling on or off; absent: the engine's.
	Explore *bool `json:"explore,omitempty"`
	// Ranker: "rerank", "benefit", "learning", "blend" or "" (the engine's); see
	// recommender.CheckPolicy.
	Ranker string `json:"ranker,omitempty"`
}

// Policy is the override a request of a pupil of this arm's classes carries.
func (a Arm) Policy(experimentID string) *recommender.PolicyOverride {
	return &recommender.PolicyOverride{Name: experimentID + "/" + a.Name, TargetSuccess: a.TargetSuccess, Explore: a.Explore, Ranker: a.Ranker}
}

// Guardrails are thresholds on secondary measures that an arm must not cross.
type Guardrails struct {
	// MinUptake: the least share of listed resources opened (launches / items shown).
	MinUptake float64 `json:"min_uptake,omitempty"`
	// MaxRejectionRate: the largest share of listed resources teachers rejected.
	MaxRejectionRate float64 `json:"max_rejection_rate,omitempty"`
}

// Definition is what an analyst submits (POST /v1/experiments). The first arm is the
// control every other arm is compared with.
type Definition struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Arms        []Arm     `json:"arms"`
	Unit        string    `json:"unit,omitempty"`
	Schools     []string  `json:"schools,omitempty"` // empty: every school
	Levels      []string  `json:"levels,omitempty"`  // empty: every level
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	// Seed drives the assignment and the bootstrap; 0: derived from the id.
	Seed           uint64     `json:"seed,omitempty"`
	PrimaryOutcome string     `json:"primary_outcome,omitempty"`
	FollowUpDays   int        `json:"followup_days,omitempty"`
	Guardrails     Guardrails `json:"guardrails"`
}

// Assignment is one class's arm.
type Assignment struct {
	ClassID  string `json:"class_id"`
	SchoolID string `json:"school_id"`
	Level    string `json:"level"`
	Arm      string `json:"arm"`
	// OptedOut: the class's teacher took it out; its pupils get the engine's policy from
	// then on (the analysis keeps the class in its arm: intention to treat).
	OptedOut   bool       `json:"opted_out"`
	OptedOutAt *time.Time `json:"opted_out_at,omitempty"`
}

// Experiment is a stored definition with its assignment.
type Experiment struct {
	Definition
	CreatedBy   string       `json:"created_by"`
	CreatedAt   time.Time    `json:"created_at"`
	Assignments []Assignment `json:"assignments"`
}

// ArmNamed returns the arm called name.
func (x *Experiment) ArmNamed(name string) (Arm, bool) {
	for _, a := range x.Arms {
		if a.Name == name {
			return a, true
		}
	}
	return Arm{}, false
}

// Running tells whether the experiment serves its arms at t.
func (d *Definition) Running(t time.Time) bool { return !t.Before(d.Start) && t.Before(d.End) }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)

func bad(field, format string, args ...any) error {
	return datasets.Errorf(datasets.ErrInvalid, field, format, args...)
}

// CheckID applies the contract's rule for opaque ids.
func CheckID(field, s string) error {
	switch {
	case s == "":
		return bad(field, "missing id")
	case len(s) > datasets.MaxIDBytes:
		return bad(field, "id longer than %d bytes", datasets.MaxIDBytes)
	case !utf8.ValidString(s), strings.IndexFunc(s, unicode.IsControl) >= 0:
		return bad(field, "id with invalid UTF-8 or a control character")
	case strings.TrimSpace(s) != s, strings.Contains(s, datasets.ListSep), strings.Contains(s, "/"):
		return bad(field, "id with surrounding spaces, a list separator or a slash")
	}
	return nil
}

func checkText(field, s string, limit int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return bad(field, "required")
	case len(s) > limit:
		return bad(field, "longer than %d bytes", limit)
	case !utf8.ValidString(s):
		return bad(field, "not valid UTF-8")
	case strings.IndexFunc(s, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) >= 0:
		return bad(field, "control character")
	}
	return nil
}

// Normalize fills the defaults (unit, outcome, follow-up, seed) and checks the
// definition, returning an error that names the offending field as a JSON pointer.
func (d *Definition) Normalize() error {
	if err := CheckID("/id", d.ID); err != nil {
		return err
	}
	if err := checkText("/name", d.Name, maxNameBytes, true); err != nil {
		return err
	}
	if err := checkText("/description", d.Description, maxDescription, false); err != nil {
		return err
	}
	if len(d.Arms) < 2 || len(d.Arms) > MaxArms {
		return bad("/arms", "an experiment has 2 to %d arms (the first is the control), not %d", MaxArms, len(d.Arms))
	}
	seen := map[string]bool{}
	for i, a := range d.Arms {
		f := fmt.Sprintf("/arms/%d", i)
		if !nameRE.MatchString(a.Name) {
			return bad(f+"/name", "arm name must be 1 to 32 letters, digits, '-' or '_'")
		}
		if seen[a.Name] {
			return bad(f+"/name", "arm %q named twice", a.Name)
		}
		seen[a.Name] = true
		if a.TargetSuccess != 0 && (a.TargetSuccess < 0.05 || a.TargetSuccess > 0.99) {
			return bad(f+"/target_success", "target success %g outside [0.05, 0.99] (or absent: the engine's)", a.TargetSuccess)
		}
		switch a.Ranker {
		case recommender.RankerDefault, recommender.RankerReRank, recommender.RankerBenefit:
		default:
			return bad(f+"/ranker", "unknown ranker %q: %q, %q or absent", a.Ranker, recommender.RankerReRank, recommender.RankerBenefit)
		}
	}
	switch d.Unit {
	case "":
		d.Unit = UnitClass
	case UnitClass:
	default:
		return bad("/unit", "the unit of assignment is the class, never pupils within a class")
	}
	if len(d.Schools) > maxListed {
		return bad("/schools", "more than %d schools", maxListed)
	}
	for i, s := range d.Schools {
		if err := CheckID(fmt.Sprintf("/schools/%d", i), s); err != nil {
			return err
		}
	}
	if len(d.Levels) > len(datasets.Levels) {
		return bad("/levels", "more levels than there are")
	}
	for i, l := range d.Levels {
		if !slices.Contains(datasets.Levels, l) {
			return bad(fmt.Sprintf("/levels/%d", i), "unknown level %q (want one of %s)", l, strings.Join(datasets.Levels, " "))
		}
	}
	switch {
	case d.Start.IsZero():
		return bad("/start", "required (RFC 3339)")
	case d.End.IsZero():
		return bad("/end", "required (RFC 3339)")
	case !d.End.After(d.Start):
		return bad("/end", "end must be after start")
	case d.End.Sub(d.Start) > MaxDuration:
		return bad("/end", "an experiment lasts at most a year")
	}
	d.Start, d.End = d.Start.UTC(), d.End.UTC()
	switch d.PrimaryOutcome {
	case "":
		d.PrimaryOutcome = OutcomeLaterSuccess
	case OutcomeLaterSuccess, OutcomeLaterGrades:
	default:
		return bad("/primary_outcome", "unknown outcome %q: %q or %q", d.PrimaryOutcome, OutcomeLaterSuccess, OutcomeLaterGrades)
	}
	switch {
	case d.FollowUpDays == 0:
		d.FollowUpDays = DefaultFollow
	case d.FollowUpDays < 0 || d.FollowUpDays > MaxFollowUp:
		return bad("/followup_days", "follow-up of 1 to %d days", MaxFollowUp)
	}
	g := d.Guardrails
	if g.MinUptake < 0 || g.MinUptake > 1 {
		return bad("/guardrails/min_uptake", "a share in [0, 1]")
	}
	if g.MaxRejectionRate < 0 || g.MaxRejectionRate > 1 {
		return bad("/guardrails/max_rejection_rate", "a share in [0, 1]")
	}
	if d.Seed == 0 {
		d.Seed = hash64(0, "experiment", d.ID)
	}
	return nil
}
