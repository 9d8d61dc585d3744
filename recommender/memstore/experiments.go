package memstore

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment"
)

var _ experiment.Store = (*Store)(nil)

// experiments holds the experiment.Store's data; its own lock is taken after s.mu when
// both are (an exposure checks its pupil, an erasure drops the pupil's rows).
type experiments struct {
	mu        sync.Mutex
	byID      map[string]*experiment.Experiment
	exposures []experiment.Exposure
	feedback  []experiment.Feedback
}

func (x *experiments) init() {
	if x.byID == nil {
		x.byID = map[string]*experiment.Experiment{}
	}
}

// erase drops the pupil's exposures and feedback (called by DeleteStudent under s.mu).
func (x *experiments) erase(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.exposures = slices.DeleteFunc(x.exposures, func(e experiment.Exposure) bool { return e.StudentID == id })
	x.feedback = slices.DeleteFunc(x.feedback, func(f experiment.Feedback) bool { return f.StudentID == id })
}

// purge drops exposures and feedback older than before (the retention of school data).
func (x *experiments) purge(before time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.exposures = slices.DeleteFunc(x.exposures, func(e experiment.Exposure) bool { return e.At.Before(before) })
	x.feedback = slices.DeleteFunc(x.feedback, func(f experiment.Feedback) bool { return f.At.Before(before) })
}

func copyExperiment(x *experiment.Experiment) experiment.Experiment {
	c := *x
	c.Arms = slices.Clone(x.Arms)
	c.Schools = slices.Clone(x.Schools)
	c.Levels = slices.Clone(x.Levels)
	c.Assignments = slices.Clone(x.Assignments)
	return c
}

// CreateExperiment stores an experiment; ErrConflict when its id is taken.
func (s *Store) CreateExperiment(ctx context.Context, x experiment.Experiment) error {
	s.xp.mu.Lock()
	defer s.xp.mu.Unlock()
	s.xp.init()
	if _, ok := s.xp.byID[x.ID]; ok {
		return datasets.Errorf(recommender.ErrConflict, "/id", "experiment %q exists already", x.ID)
	}
	c := copyExperiment(&x)
	s.xp.byID[x.ID] = &c
	return nil
}

// Experiment returns the experiment; ErrNotFound when unknown.
func (s *Store) Experiment(ctx context.Context, id string) (experiment.Experiment, error) {
	s.xp.mu.Lock()
	defer s.xp.mu.Unlock()
	x, ok := s.xp.byID[id]
	if !ok {
		return experiment.Experiment{}, notFound("Experiment", "experiment", id)
	}
	return copyExperiment(x), nil
}

// Experiments lists every experiment by start, then id.
func (s *Store) Experiments(ctx context.Context) ([]experiment.Experiment, error) {
	s.xp.mu.Lock()
	defer s.xp.mu.Unlock()
	out := make([]experiment.Experiment, 0, len(s.xp.byID))
	for _, x := range s.xp.byID {
		out = append(out, copyExperiment(x))
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].Start.Equal(out[b].Start) {
			return out[a].Start.Before(out[b].Start)
		}
		return out[a].ID < out[b].ID
	})
	return out, nil
}

// ClassExperiments lists the experiments the class was assigned in, by start.
func (s *Store) ClassExperiments(ctx context.Context, classID string) ([]experiment.ClassExperiment, error) {
	xs, _ := s.Experiments(ctx)
	var out []experiment.ClassExperiment
	for i := range xs {
		if c, ok := experiment.ClassesOf(&xs[i], classID); ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// SetOptOut takes the class out of the experiment, or back in.
func (s *Store) SetOptOut(ctx context.Context, experimentID, classID string, out bool, at time.Time) error {
	s.xp.mu.Lock()
	defer s.xp.mu.Unlock()
	x, ok := s.xp.byID[experimentID]
	if !ok {
		return notFound("SetOptOut", "experiment", experimentID)
	}
	for i := range x.Assignments {
		a := &x.Assignments[i]
		if a.ClassID != classID {
			continue
		}
		a.OptedOut, a.OptedOutAt = out, nil
		if out {
			t := at.UTC()
			a.OptedOutAt = &t
		}
		return nil
	}
	return notFound("SetOptOut", "class", classID)
}

// LogExposure records a served list; ErrNotFound for an unknown pupil or experiment.
func (s *Store) LogExposure(ctx context.Context, e experiment.Exposure) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.students[e.StudentID]; !ok {
		return notFound("LogExposure", "student", e.StudentID)
	}
	s.xp.mu.Lock()
	defer s.xp.mu.Unlock()
	if _, ok := s.xp.byID[e.ExperimentID]; !ok {
		return notFound("LogExposure", "experiment", e.ExperimentID)
	}
	e.ResourceIDs = slices.Clone(e.ResourceIDs)
	e.At = e.At.UTC()
	s.xp.exposures = append(s.xp.exposures, e)
	return nil
}

// ExposureByList returns the list's first exposure.
func (s *Store) ExposureByList(ctx context.Context, listID string) (experiment.Exposure, error) {
	s.xp.mu.Lock()
	defer s.xp.mu.Unlock()
	for _, e := range s.xp.exposures {
		if e.ListID == listID {
			e.ResourceIDs = slices.Clone(e.ResourceIDs)
			return e, nil
		}
	}
	return experiment.Exposure{}, notFound("ExposureByList", "list", listID)
}

// Exposures lists the experiment's exposures in time order.
func (s *Store) Exposures(ctx context.Context, experimentID string) ([]experiment.Exposure, error) {
	s.xp.mu.Lock()
	defer s.xp.mu.Unlock()
	var out []experiment.Exposure
	for _, e := range s.xp.exposures {
		if e.ExperimentID == experimentID {
			e.ResourceIDs = slices.Clone(e.ResourceIDs)
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].At.Before(out[b].At) })
	return out, nil
}

// LogFeedback records a report from the ENT page.
func (s *Store) LogFeedback(ctx context.Context, f experiment.Feedback) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.students[f.StudentID]; !ok {
		return notFound("LogFeedback", "student", f.StudentID)
	}
	s.xp.mu.Lock()
	defer s.xp.mu.Unlock()
	if _, ok := s.xp.byID[f.ExperimentID]; !ok {
		return notFound("LogFeedback", "experiment", f.ExperimentID)
	}
	f.At = f.At.UTC()
	s.xp.feedback = append(s.xp.feedback, f)
	return nil
}

// Feedback lists the experiment's feedback in time order.
func (s *Store) Feedback(ctx context.Context, experimentID string) ([]experiment.Feedback, error) {
	s.xp.mu.Lock()
	defer s.xp.mu.Unlock()
	var out []experiment.Feedback
	for _, f := range s.xp.feedback {
		if f.ExperimentID == experimentID {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].At.Before(out[b].At) })
	return out, nil
}

// PupilRows lists the pupil's exposures and feedback, each in time order.
func (s *Store) PupilRows(ctx context.Context, studentID string) ([]experiment.Exposure, []experiment.Feedback, error) {
	s.xp.mu.Lock()
	defer s.xp.mu.Unlock()
	es := []experiment.Exposure{}
	for _, e := range s.xp.exposures {
		if e.StudentID == studentID {
			e.ResourceIDs = slices.Clone(e.ResourceIDs)
			es = append(es, e)
		}
	}
	fs := []experiment.Feedback{}
	for _, f := range s.xp.feedback {
		if f.StudentID == studentID {
			fs = append(fs, f)
		}
	}
	sort.SliceStable(es, func(a, b int) bool { return es[a].At.Before(es[b].At) })
	sort.SliceStable(fs, func(a, b int) bool { return fs[a].At.Before(fs[b].At) })
	return es, fs, nil
}
