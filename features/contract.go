package features

// This file states the shapes that the recommender and the stores rely on. The features
// helper owns this package and fills in the implementations; names and meanings here are
// a contract: extend them, do not break them.

import (
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// SchemaVersion is the version of the student and resource vector layout, stored beside
// every vector. Bump it whenever the layout changes.
const SchemaVersion = 1

// PupilEvents is everything known about one pupil that features are computed from.
type PupilEvents struct {
	Student    datasets.Student
	Grades     []datasets.Grade
	Absences   []datasets.Absence
	Statements []datasets.Statement // voided ones already removed
	Lessons    []datasets.Lesson    // the timetable of the pupil's class
}

// CompetencyState is what the model and the grades say about one pupil on one competency.
type CompetencyState struct {
	Theta       float64 `json:"theta"`        // ability on the model's logit scale: global + λ·local, λ the fitted shrinkage (doc.go)
	Local       float64 `json:"local"`        // the per-competency part of Theta
	N           int     `json:"n"`            // observations that updated it
	PMastery    float64 `json:"p_mastery"`    // BKT-style probability of mastery, 0..1
	GradeMean   float64 `json:"grade_mean"`   // decayed, coefficient-weighted mean as a fraction 0..1; valid when GradeN > 0
	GradeN      int     `json:"grade_n"`      // number of scored grades behind GradeMean
	GradeWeight float64 `json:"grade_weight"` // evidence: sum of decayed coefficients
	Trend       string  `json:"trend"`        // "improving", "stable", "falling" or "" when too little evidence
	Need        float64 `json:"need"`         // 0..1: how much the pupil should work on it now
	// Relevance is the curriculum-position factor of Need (see doc.go), 0..1.
	Relevance float64 `json:"relevance"`
	// Successes and Failures are the weighted outcomes on it: Σ w·y and Σ w·(1 − y)
	// (performance-factor terms of the model).
	Successes float64 `json:"successes"`
	Failures  float64 `json:"failures"`
	// Recent is the recency-weighted success rate minus ½ (R-PFA; layer.go).
	Recent float64 `json:"recent"`
	// LastEvidence is the time of the latest outcome (attempt or grade) on it.
	LastEvidence time.Time `json:"last_evidence,omitzero"`
	// Lessons and MissedLessons count the lessons on it the pupil attended and missed
	// (a lesson on k competencies counts 1/k on each): learning opportunities of the
	// model (its lesson effects, model.go).
	Lessons       float64 `json:"lessons,omitempty"`
	MissedLessons float64 `json:"missed_lessons,omitempty"`
	// LastMissed is the start of the latest lesson on it the pupil missed.
	LastMissed time.Time `json:"last_missed,omitzero"`
}

// MissedLesson is a lesson taught in the pupil's class while the pupil was away.
type MissedLesson struct {
	LessonID     string    `json:"lesson_id"`
	Subject      string    `json:"subject"`
	Competencies []string  `json:"competencies"`
	Start        time.Time `json:"start"`
	Justified    bool      `json:"justified"`
}

// AbsenceFeatures summarise attendance.
type AbsenceFeatures struct {
	Rate30d          float64 `json:"rate_30d"` // share of lesson time missed in the last 30 days
	Rate90d          float64 `json:"rate_90d"`
	UnjustifiedShare float64 `json:"unjustified_share"`
	CurrentSpellDays float64 `json:"current_spell_days"`
}

// UsageFeatures summarise resource usage from xAPI statements.
type UsageFeatures struct {
	ActiveDays     int      `json:"active_days"`
	Sessions       int      `json:"sessions"`
	CompletionRate float64  `json:"completion_rate"`
	SuccessRate    float64  `json:"success_rate"`
	Attempts       int      `json:"attempts"`
	TimeSpentMin   float64  `json:"time_spent_min"`
	Seen           []string `json:"seen"`      // resource ids, sorted
	Completed      []string `json:"completed"` // resource ids, sorted
	Successes      int      `json:"successes"` // attempts with outcome ≥ 0.5
	// LastActive is the latest statement's time: the online update needs it to count
	// days and sessions.
	LastActive time.Time `json:"last_active,omitzero"`
}

// Profile is the derived state of one pupil: what the recommender reads on a request.
// It is stored (JSON beside a vector) and recomputed when the pupil's events change.
type Profile struct {
	StudentID     string                     `json:"student_id"`
	SchoolID      string                     `json:"school_id"`
	ClassID       string                     `json:"class_id"`
	Level         string                     `json:"level"`
	SchemaVersion int                        `json:"schema_version"`
	AsOf          time.Time                  `json:"as_of"`
	Global        float64                    `json:"global"` // global ability θ
	GlobalN       int                        `json:"global_n"`
	Competencies  map[string]CompetencyState `json:"competencies"`
	Missed        []MissedLesson             `json:"missed"`
	Absence       AbsenceFeatures            `json:"absence"`
	Usage         UsageFeatures              `json:"usage"`
	Subjects      map[string]GradeSummary    `json:"subjects,omitempty"` // grade features per subject
	// OpenAttempts lists resources with answers sent since their attempt began (the 16
	// latest, oldest first), so that the statement closing the attempt is not counted
	// twice by the online update.
	OpenAttempts []string  `json:"open_attempts,omitempty"`
	Vector       []float32 `json:"-"` // the student vector, stored in its own column
}
