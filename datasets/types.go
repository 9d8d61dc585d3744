// Package datasets is Parcours's input vocabulary: the school data an ENT hands us
// (students, competencies, resources, the timetable, Pronote-style grades, absences and
// xAPI usage statements), the data-folder file formats with their validation, the
// synthetic académie, and importers for public data.
//
// It must never hold or accept anything beyond the contract's columns: nothing about
// health, special-needs plans or family situation, whatever a source system offers.
package datasets

import (
	"time"
)

// Levels are the French secondary levels, youngest first.
var Levels = []string{"6e", "5e", "4e", "3e", "2nde", "1re", "Tle"}

// LevelIndex returns the position of level in Levels, or -1 when it is not one of them.
func LevelIndex(level string) int {
	for i, l := range Levels {
		if l == level {
			return i
		}
	}
	return -1
}

// Competency is one node of a subject's competency graph.
type Competency struct {
	ID            string   `json:"competency_id"`
	Subject       string   `json:"subject"`
	Level         string   `json:"level"`
	Label         string   `json:"label"`
	Prerequisites []string `json:"prerequisites"`
}

// Resource types of the catalogue.
const (
	ResourceVideo    = "video"
	ResourceExercise = "exercise"
	ResourceQuiz     = "quiz"
	ResourceSheet    = "sheet"
)

// Resource is one learning resource of the catalogue.
type Resource struct {
	ID           string   `json:"resource_id"`
	Title        string   `json:"title"`
	Subject      string   `json:"subject"`
	Level        string   `json:"level"`
	Type         string   `json:"type"`
	Competencies []string `json:"competencies"`
	// Difficulty is on the logit scale of the student model: 0 is a resource that a
	// pupil of average ability succeeds on half the time.
	Difficulty  float64 `json:"difficulty"`
	DurationMin int     `json:"duration_min"`
	// URL launches the resource (optional column url); AltIDs are the other ids a
	// learning platform may name it by in xAPI statements (optional column alt_ids), e.g.
	// a Moodle course-module URL or an H5P content URL.
	URL    string   `json:"url,omitempty"`
	AltIDs []string `json:"alt_ids,omitempty"`
}

// Student is a pupil, known only by the ENT's opaque id.
type Student struct {
	ID       string `json:"student_id"`
	SchoolID string `json:"school_id"`
	ClassID  string `json:"class_id"`
	Level    string `json:"level"`
	Consent  bool   `json:"consent"`
	// DisplayName and Mbox are optional roster columns. Both are personal data: shown
	// only to those who may read the pupil, exported and erased with them, never logged.
	// Mbox ("mailto:…") maps xAPI actors identified by mbox or mbox_sha1sum.
	DisplayName string `json:"display_name,omitempty"`
	Mbox        string `json:"mbox,omitempty"`
}

// Class is a class's label (optional classes.csv): what teachers read instead of its id.
type Class struct {
	ID       string `json:"class_id"`
	SchoolID string `json:"school_id"`
	Label    string `json:"label"`
}

// Lesson is one slot of a class's timetable: what was taught when.
type Lesson struct {
	ID           string    `json:"lesson_id"`
	ClassID      string    `json:"class_id"`
	Subject      string    `json:"subject"`
	Competencies []string  `json:"competencies"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
}

// Grade statuses (Pronote): a row with a status has no score and never counts as a zero.
const (
	StatusAbsent   = "absent"
	StatusDispense = "dispense"
	StatusNonNote  = "non_note"
	StatusInapte   = "inapte"
	StatusNonRendu = "non_rendu"
)

// GradeStatuses lists the accepted non-empty statuses.
var GradeStatuses = []string{StatusAbsent, StatusDispense, StatusNonNote, StatusInapte, StatusNonRendu}

// Grade is one Pronote-style mark.
type Grade struct {
	ID           string    `json:"grade_id"`
	StudentID    string    `json:"student_id"`
	Subject      string    `json:"subject"`
	Competencies []string  `json:"competencies"`
	AssessmentID string    `json:"assessment_id"`
	Date         time.Time `json:"date"`
	// Score is meaningful only when Status is empty.
	Score       float64 `json:"score"`
	OutOf       float64 `json:"out_of"`
	Coefficient float64 `json:"coefficient"`
	Status      string  `json:"status"`
}

// Scored reports whether the grade carries a mark.
func (g Grade) Scored() bool { return g.Status == "" }

// Absence is one period a pupil was away.
type Absence struct {
	ID        string    `json:"absence_id"`
	StudentID string    `json:"student_id"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Justified bool      `json:"justified"`
}

// xAPI verbs that feed the features. Any other verb IRI is valid and is kept.
const (
	VerbExperienced = "http://adlnet.gov/expapi/verbs/experienced"
	VerbAttempted   = "http://adlnet.gov/expapi/verbs/attempted"
	VerbAnswered    = "http://adlnet.gov/expapi/verbs/answered"
	VerbCompleted   = "http://adlnet.gov/expapi/verbs/completed"
	VerbPassed      = "http://adlnet.gov/expapi/verbs/passed"
	VerbFailed      = "http://adlnet.gov/expapi/verbs/failed"
	VerbProgressed  = "http://adlnet.gov/expapi/verbs/progressed"
	VerbScored      = "http://adlnet.gov/expapi/verbs/scored"
	VerbViewed      = "http://id.tincanapi.com/verb/viewed"
	VerbVoided      = "http://adlnet.gov/expapi/verbs/voided"
)

// Statement is the part of an xAPI 1.0.3 statement that Parcours keeps: one line of
// usage.jsonl. Optional result fields are pointers so that "absent" and "zero" differ.
type Statement struct {
	ID         string         `json:"id"`
	StudentID  string         `json:"student_id"` // actor.account.name
	Verb       string         `json:"verb"`       // verb.id
	ObjectID   string         `json:"object_id"`  // object.id: a resource id, or for voided the statement id
	Timestamp  time.Time      `json:"timestamp"`
	Scaled     *float64       `json:"scaled,omitempty"`
	Success    *bool          `json:"success,omitempty"`
	Completion *bool          `json:"completion,omitempty"`
	Duration   *time.Duration `json:"duration,omitempty"`
	// Ref is how an xAPI reader saw the actor and the activity, for MapStatement; nil
	// for statements built in Go. Never stored as such.
	Ref *XAPIRef `json:"-"`
}

// Outcome reads whether the statement says the pupil succeeded: result.success, else a
// scaled score of at least 0.5, else the passed/failed verbs. has is false when the
// statement carries no outcome (a view, a completion without result).
func (s Statement) Outcome() (success, has bool) {
	switch {
	case s.Success != nil:
		return *s.Success, true
	case s.Scaled != nil:
		return *s.Scaled >= 0.5, true
	case s.Verb == VerbPassed:
		return true, true
	case s.Verb == VerbFailed:
		return false, true
	}
	return false, false
}

// Dataset is one whole data folder held in memory.
type Dataset struct {
	Competencies []Competency
	Resources    []Resource
	Students     []Student
	Lessons      []Lesson
	Grades       []Grade
	Absences     []Absence
	Statements   []Statement
	// Classes are optional labels of classes (classes.csv).
	Classes []Class
	// Unmapped are valid statements about a pupil or an activity Parcours does not know:
	// kept, never fed to the features (see MapStatements).
	Unmapped []UnmappedStatement
}
