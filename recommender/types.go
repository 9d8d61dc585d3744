package recommender

import "time"

// Reason is one piece of evidence behind a suggestion, readable by a teacher or parent.
type Reason struct {
	Code    string `json:"code"`    // stable machine code, e.g. "weak_competency"
	Message string `json:"message"` // a sentence in the request's language
}

// Item is one recommended resource.
type Item struct {
	ResourceID   string   `json:"resource_id"`
	Title        string   `json:"title"`
	Subject      string   `json:"subject"`
	Type         string   `json:"type"`
	Competencies []string `json:"competencies"`
	Difficulty   float64  `json:"difficulty"`
	PSuccess     float64  `json:"p_success"`
	Score        float64  `json:"score"`
	Reasons      []Reason `json:"reasons"`
	URL          string   `json:"url,omitempty"` // launches the resource, when the catalogue has one
}

// Answer sources.
const (
	SourceCache    = "cache"
	SourceComputed = "computed"
	SourceFallback = "fallback" // non-personalised: no consent or no data
)

// Request asks for a pupil's recommendations.
type Request struct {
	StudentID string
	K         int
	Subject   string // optional
	Lang      string // "fr" (default) or "en"
	// Prefetch marks a list computed ahead of any page view (after an event): it is not
	// logged as served, since nobody was shown it.
	Prefetch bool
	// Policy overrides the engine's ranking knobs for this request (an experiment's arm);
	// nil: the engine's configuration.
	Policy *PolicyOverride
}

// PolicyOverride changes, for one request, the ranking knobs an online experiment varies
// (recommender/experiment). Zero fields keep the engine's configuration.
type PolicyOverride struct {
	// Name identifies the override wherever answers are kept apart by it (the cache key,
	// the exposure log), e.g. "E1/B".
	Name string
	// TargetSuccess is the predicted success a good next resource aims at, in (0, 1);
	// 0: the engine's.
	TargetSuccess float64
	// Explore switches Thompson sampling on (true) or off (false); nil: the engine's.
	Explore *bool
	// Ranker is RankerReRank (the fitted re-ranker, when the engine has one), RankerBenefit
	// (the hand-made benefit) or "" (the engine's).
	Ranker string
}

// Ranker variants a PolicyOverride may ask for.
const (
	RankerDefault = ""
	RankerReRank  = "rerank"
	RankerBenefit = "benefit"
)

// Recommendations is the answer to a Request.
type Recommendations struct {
	StudentID    string    `json:"student_id"`
	Items        []Item    `json:"items"`
	ModelVersion string    `json:"model_version"`
	GeneratedAt  time.Time `json:"generated_at"`
	Source       string    `json:"source"`
	// ListID names this list for feedback from the page that shows it (impressions and
	// launches, POST /v1/feedback); set by the API when the pupil is in an experiment.
	ListID string `json:"list_id,omitempty"`
}

// Step statuses.
const (
	StatusSuggested = "suggested"
	StatusApproved  = "approved"
	StatusRejected  = "rejected"
	StatusPinned    = "pinned"
)

// PathRequest asks for a learning path.
type PathRequest struct {
	StudentID string
	Subject   string
	Length    int
	Lang      string
}

// Step is one step of a learning path.
type Step struct {
	Position     int       `json:"position"`
	ResourceID   string    `json:"resource_id"`
	Title        string    `json:"title"`
	Competency   string    `json:"competency"`
	Status       string    `json:"status"`
	PSuccess     float64   `json:"p_success"`
	Reasons      []Reason  `json:"reasons"`
	Alternatives []string  `json:"alternatives"`
	Decision     *Decision `json:"decision,omitempty"` // the latest teacher decision on it
	URL          string    `json:"url,omitempty"`      // launches the resource, when the catalogue has one
}

// Path is an ordered learning path.
type Path struct {
	StudentID    string    `json:"student_id"`
	Subject      string    `json:"subject"`
	Steps        []Step    `json:"steps"`
	ModelVersion string    `json:"model_version"`
	GeneratedAt  time.Time `json:"generated_at"`
	Source       string    `json:"source"`
}

// CompetencyNeed is one pupil's need on one competency in a class overview.
type CompetencyNeed struct {
	Competency string  `json:"competency"`
	Need       float64 `json:"need"`
	PMastery   float64 `json:"p_mastery"`
}

// PupilNeeds is one row of a class overview.
type PupilNeeds struct {
	StudentID string           `json:"student_id"`
	Personal  bool             `json:"personalised"` // false without consent: no needs shown
	Needs     []CompetencyNeed `json:"needs"`
	Group     int              `json:"group"`
}

// Group is a set of pupils with similar needs.
type Group struct {
	ID           int      `json:"id"`
	Students     []string `json:"students"`
	Competencies []string `json:"competencies"` // the needs they share, strongest first
	Label        string   `json:"label"`
}

// Overview is a teacher's view of one class.
type Overview struct {
	ClassID      string       `json:"class_id"`
	Subject      string       `json:"subject,omitempty"` // the subject asked for; empty: every subject
	Competencies []string     `json:"competencies"`
	Pupils       []PupilNeeds `json:"pupils"`
	Groups       []Group      `json:"groups"`
	GeneratedAt  time.Time    `json:"generated_at"`
}

// Analytics are pseudonymised aggregates for analysts: no pupil ids, groups under
// MinGroup pupils suppressed.
type Analytics struct {
	SchoolID   string             `json:"school_id,omitempty"`
	MinGroup   int                `json:"min_group"`
	Mastery    []MasteryAggregate `json:"mastery"`
	Uptake     UptakeAggregate    `json:"recommendation_uptake"`
	Decisions  map[string]int     `json:"teacher_decisions"`
	Suppressed int                `json:"suppressed_groups"`
}

// MasteryAggregate is the mean mastery on one competency at one level.
type MasteryAggregate struct {
	Competency   string  `json:"competency"`
	Level        string  `json:"level"`
	Pupils       int     `json:"pupils"`
	MeanPMastery float64 `json:"mean_p_mastery"`
}

// UptakeAggregate tells how often recommended resources were then used.
type UptakeAggregate struct {
	Pupils      int     `json:"pupils"`
	Recommended int     `json:"recommended"`
	Used        int     `json:"used"`
	Rate        float64 `json:"rate"`
}
