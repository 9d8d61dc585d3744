package experiment

import (
	"context"
	"sort"
	"time"
)

// Exposure is one list served to a pupil of an experiment's class: the arm it was
// ranked by. Personal data (the pupil's id): erased with the pupil.
type Exposure struct {
	ExperimentID string    `json:"experiment_id"`
	Arm          string    `json:"arm"`
	ClassID      string    `json:"class_id"`
	StudentID    string    `json:"student_id"`
	ListID       string    `json:"list_id"`
	ResourceIDs  []string  `json:"resource_ids"`
	Source       string    `json:"source"` // computed, cache or fallback
	At           time.Time `json:"at"`
}

// Feedback kinds the ENT page reports about a list it showed.
const (
	FeedbackImpression = "impression" // the list was on screen
	FeedbackLaunch     = "launch"     // the pupil opened one of its resources
)

// Feedback is one report from the page that showed a list. Personal data.
type Feedback struct {
	ExperimentID string    `json:"experiment_id"`
	Arm          string    `json:"arm"`
	StudentID    string    `json:"student_id"`
	ListID       string    `json:"list_id"`
	Kind         string    `json:"kind"`
	ResourceID   string    `json:"resource_id,omitempty"` // launches
	At           time.Time `json:"at"`
}

// ClassExperiment is one experiment a class is (or was) in, as its teacher sees it.
type ClassExperiment struct {
	ExperimentID string    `json:"experiment_id"`
	Name         string    `json:"name"`
	Arm          Arm       `json:"arm"`
	ArmIndex     int       `json:"arm_index"` // 0: the control
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	OptedOut     bool      `json:"opted_out"`
}

// Store keeps experiments, assignments, exposures and feedback. memstore and pgstore
// implement it and pass exptest's conformance suite. Errors are *datasets.Error codes:
// ErrNotFound for an unknown experiment or class, ErrConflict for a taken id.
type Store interface {
	CreateExperiment(ctx context.Context, x Experiment) error
	Experiment(ctx context.Context, id string) (Experiment, error)
	// Experiments lists every experiment, by start then id (with their assignments).
	Experiments(ctx context.Context) ([]Experiment, error)
	// ClassExperiments lists the experiments the class was assigned in, by start.
	ClassExperiments(ctx context.Context, classID string) ([]ClassExperiment, error)
	// SetOptOut takes the class out of the experiment (or back in).
	SetOptOut(ctx context.Context, experimentID, classID string, out bool, at time.Time) error
	LogExposure(ctx context.Context, x Exposure) error
	// ExposureByList returns the first exposure of the list; ErrNotFound when none.
	ExposureByList(ctx context.Context, listID string) (Exposure, error)
	// Exposures lists the experiment's exposures in time order.
	Exposures(ctx context.Context, experimentID string) ([]Exposure, error)
	LogFeedback(ctx context.Context, f Feedback) error
	Feedback(ctx context.Context, experimentID string) ([]Feedback, error)
	// PupilRows lists the pupil's exposures and feedback across experiments, each in time
	// order (the RGPD export); empty, not an error, when there are none.
	PupilRows(ctx context.Context, studentID string) ([]Exposure, []Feedback, error)
}

// Active returns the experiment that serves the class at t: running, not opted out; the
// earliest started when several overlap. ok is false when none.
func Active(cs []ClassExperiment, t time.Time) (ClassExperiment, bool) {
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].Start.Before(cs[b].Start) })
	for _, c := range cs {
		if !c.OptedOut && !t.Before(c.Start) && t.Before(c.End) {
			return c, true
		}
	}
	return ClassExperiment{}, false
}

// ClassesOf derives, from the experiments, each class's entries (for stores).
func ClassesOf(x *Experiment, classID string) (ClassExperiment, bool) {
	for _, a := range x.Assignments {
		if a.ClassID != classID {
			continue
		}
		for i, arm := range x.Arms {
			if arm.Name == a.Arm {
				return ClassExperiment{ExperimentID: x.ID, Name: x.Name, Arm: arm, ArmIndex: i, Start: x.Start, End: x.End, OptedOut: a.OptedOut}, true
			}
		}
	}
	return ClassExperiment{}, false
}
