package experiment

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// Roster lists pupils: what finding the classes to assign needs.
type Roster interface {
	StudentIDs(ctx context.Context) ([]string, error)
	Student(ctx context.Context, id string) (datasets.Student, error)
	SchoolStudents(ctx context.Context, schoolID string) ([]datasets.Student, error)
}

// Classes lists the classes of the schools given (every school when none), each with
// its school and its pupils' most common level, sorted by id.
func Classes(ctx context.Context, r Roster, schools []string) ([]Class, error) {
	var sts []datasets.Student
	if len(schools) > 0 {
		for _, sc := range schools {
			ss, err := r.SchoolStudents(ctx, sc)
			if err != nil {
				return nil, fmt.Errorf("experiment.Classes: school %q: %w", sc, err)
			}
			sts = append(sts, ss...)
		}
	} else {
		ids, err := r.StudentIDs(ctx)
		if err != nil {
			return nil, fmt.Errorf("experiment.Classes: %w", err)
		}
		for _, id := range ids {
			st, err := r.Student(ctx, id)
			if errors.Is(err, datasets.ErrNotFound) {
				continue // erased meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("experiment.Classes: %w", err)
			}
			sts = append(sts, st)
		}
	}
	type acc struct {
		school string
		levels map[string]int
	}
	by := map[string]*acc{}
	for _, st := range sts {
		a := by[st.ClassID]
		if a == nil {
			a = &acc{school: st.SchoolID, levels: map[string]int{}}
			by[st.ClassID] = a
		}
		a.levels[st.Level]++
	}
	out := make([]Class, 0, len(by))
	for id, a := range by {
		best, n := "", -1
		for l, k := range a.levels {
			if k > n || (k == n && l < best) {
				best, n = l, k
			}
		}
		out = append(out, Class{ID: id, SchoolID: a.school, Level: best})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Create checks the definition, assigns the classes of its schools and levels that no
// overlapping experiment holds already (a class runs one policy at a time), and stores
// the experiment. It returns the stored experiment; ErrInvalid (field named) for a bad
// definition or one that finds no class, ErrConflict for a taken id.
func Create(ctx context.Context, st Store, r Roster, d Definition, by string, now time.Time) (Experiment, error) {
	if err := d.Normalize(); err != nil {
		return Experiment{}, err
	}
	if _, err := st.Experiment(ctx, d.ID); err == nil {
		return Experiment{}, datasets.Errorf(datasets.ErrConflict, "/id", "experiment %q exists already", d.ID)
	} else if !errors.Is(err, datasets.ErrNotFound) {
		return Experiment{}, err
	}
	classes, err := Classes(ctx, r, d.Schools)
	if err != nil {
		return Experiment{}, err
	}
	others, err := st.Experiments(ctx)
	if err != nil {
		return Experiment{}, err
	}
	busy := map[string]bool{}
	for _, o := range others {
		if o.Start.Before(d.End) && d.Start.Before(o.End) {
			for _, a := range o.Assignments {
				busy[a.ClassID] = true
			}
		}
	}
	free := classes[:0:0]
	for _, c := range classes {
		if !busy[c.ID] {
			free = append(free, c)
		}
	}
	x := Experiment{Definition: d, CreatedBy: by, CreatedAt: now.UTC(), Assignments: Assign(&d, free)}
	if len(x.Assignments) == 0 {
		return Experiment{}, datasets.Errorf(datasets.ErrInvalid, "/schools", "no class to assign: none in these schools and levels, or all in an overlapping experiment")
	}
	if err := st.CreateExperiment(ctx, x); err != nil {
		return Experiment{}, err
	}
	return x, nil
}

// PolicyFor returns the override for a pupil of the class at t, with the experiment and
// arm, or nil when the class is in no running experiment. Pupils without consent are
// never in one.
func PolicyFor(ctx context.Context, st Store, classID string, consent bool, t time.Time) (*recommender.PolicyOverride, ClassExperiment, error) {
	if !consent {
		return nil, ClassExperiment{}, nil
	}
	cs, err := st.ClassExperiments(ctx, classID)
	if err != nil {
		return nil, ClassExperiment{}, err
	}
	c, ok := Active(cs, t)
	if !ok {
		return nil, ClassExperiment{}, nil
	}
	return c.Arm.Policy(c.ExperimentID), c, nil
}
