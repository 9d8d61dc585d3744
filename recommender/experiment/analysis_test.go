package experiment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment"
)

// fakeSource holds pupils, their grades and decisions for Analyze.
type fakeSource struct {
	students map[string]datasets.Student
	grades   map[string][]datasets.Grade
}

func (f *fakeSource) Catalogue(context.Context) ([]datasets.Competency, []datasets.Resource, error) {
	return nil, []datasets.Resource{{ID: "R1", Competencies: []string{"K1"}}, {ID: "R2", Competencies: []string{"K2"}}}, nil
}

func (f *fakeSource) Student(_ context.Context, id string) (datasets.Student, error) {
	st, ok := f.students[id]
	if !ok {
		return st, datasets.Errorf(datasets.ErrNotFound, "", "no %s", id)
	}
	return st, nil
}

func (f *fakeSource) PupilEvents(_ context.Context, id string) (features.PupilEvents, error) {
	return features.PupilEvents{Grades: f.grades[id]}, nil
}

func (f *fakeSource) Decisions(context.Context, string) ([]recommender.Decision, error) {
	return nil, nil
}

// TestAnalyzeSuppressesSmallArmsAndLeavesOutPupilsWithoutConsent: arm A has 4 classes
// of 6 pupils (24), arm B 3 classes of 3 (9: suppressed). A pupil who withdrew consent
// and one erased since are left out; a grade before the first exposure or on a
// competency never recommended does not count; no pupil id leaves the analysis.
func TestAnalyzeSuppressesSmallArmsAndLeavesOutPupilsWithoutConsent(t *testing.T) {
	d := valid()
	if err := d.Normalize(); err != nil {
		t.Fatal(err)
	}
	x := experiment.Experiment{Definition: d}
	src := &fakeSource{students: map[string]datasets.Student{}, grades: map[string][]datasets.Grade{}}
	var exps []experiment.Exposure
	add := func(arm, class string, n int, score float64) {
		x.Assignments = append(x.Assignments, experiment.Assignment{ClassID: class, Arm: arm})
		for i := range n {
			id := fmt.Sprintf("%s-%02d", class, i)
			src.students[id] = datasets.Student{ID: id, ClassID: class, Consent: true}
			at := start.Add(24 * time.Hour)
			exps = append(exps, experiment.Exposure{ExperimentID: "E1", Arm: arm, ClassID: class, StudentID: id, ListID: "L" + id, ResourceIDs: []string{"R1"}, At: at})
			src.grades[id] = []datasets.Grade{
				{StudentID: id, Competencies: []string{"K1"}, Date: at.Add(48 * time.Hour), Score: score, OutOf: 20},
				{StudentID: id, Competencies: []string{"K1"}, Date: at.Add(-48 * time.Hour), Score: 0, OutOf: 20}, // before: ignored
				{StudentID: id, Competencies: []string{"K2"}, Date: at.Add(48 * time.Hour), Score: 0, OutOf: 20},  // not recommended
			}
		}
	}
	for c := range 4 {
		add("A", fmt.Sprint("CA", c), 6, 10+float64(c))
	}
	for c := range 3 {
		add("B", fmt.Sprint("CB", c), 3, 16)
	}
	// Withdrawn consent, and erased: never counted.
	st := src.students["CA0-00"]
	st.Consent = false
	src.students["CA0-00"] = st
	delete(src.students, "CA1-00")
	a, err := experiment.Analyze(context.Background(), &x, exps, nil, src, experiment.Options{Now: start.Add(200 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := a.Arms["A"], a.Arms["B"]
	if ra.Pupils == nil || *ra.Pupils != 22 || ra.Classes != 4 {
		t.Errorf("arm A: %+v (want 22 pupils in 4 classes)", ra)
	}
	if want := (5*10.0 + 5*11 + 6*12 + 6*13) / 22 / 20; ra.Mean == nil || abs(*ra.Mean-want) > 1e-3 {
		t.Errorf("arm A mean %v, want %.4f", ra.Mean, want)
	}
	if !rb.Suppressed || rb.Pupils != nil || rb.Mean != nil || rb.Effect != nil || rb.Classes != 3 {
		t.Errorf("arm B under 10 pupils not suppressed: %+v", rb)
	}
	if len(a.Classes) != 0 || a.SuppressedClasses != 7 {
		t.Errorf("classes under 10 pupils listed: %+v (suppressed %d)", a.Classes, a.SuppressedClasses)
	}
	if !strings.Contains(a.Verdict, "moins de 10") {
		t.Errorf("verdict %q", a.Verdict)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
