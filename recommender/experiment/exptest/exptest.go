// Package exptest is the conformance suite every experiment.Store passes (memstore and
// pgstore): what the service relies on, checked the same way against each.
package exptest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment"
)

// Opener returns a fresh, empty store that is also an experiment.Store.
type Opener func(t *testing.T) recommender.Store

// Run runs the suite; each subtest opens a fresh store.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s recommender.Store, x experiment.Store)
	}{
		{"CreatedExperimentReadsBack", createdReadsBack},
		{"TakenIDIsConflict", takenIDIsConflict},
		{"UnknownIsNotFound", unknownIsNotFound},
		{"OptOutTakesTheClassOut", optOutTakesTheClassOut},
		{"ExposuresAndFeedbackReadBackInTimeOrder", exposuresReadBack},
		{"ExposureOfUnknownPupilIsNotFound", exposureOfUnknownPupil},
		{"ErasureRemovesExposuresAndFeedback", erasureRemovesExposures},
		{"PurgeRemovesOldExposuresAndFeedback", purgeRemovesOld},
		{"PupilRowsAreThePupilsOwnInTimeOrder", pupilRowsAreTheirOwn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			x, ok := s.(experiment.Store)
			if !ok {
				t.Fatalf("%T is not an experiment.Store", s)
			}
			if _, err := s.Ingest(context.Background(), fixture()); err != nil {
				t.Fatalf("ingest: %v", err)
			}
			tc.fn(t, s, x)
		})
	}
}

var t0 = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

func fixture() *datasets.Dataset {
	return &datasets.Dataset{Students: []datasets.Student{
		{ID: "P1", SchoolID: "S1", ClassID: "C1", Level: "5e", Consent: true},
		{ID: "P2", SchoolID: "S1", ClassID: "C2", Level: "5e", Consent: true},
		{ID: "P3", SchoolID: "S2", ClassID: "C3", Level: "4e", Consent: false},
	}}
}

func sample() experiment.Experiment {
	yes := true
	d := experiment.Definition{ID: "E1", Name: "Cible 0,6", Arms: []experiment.Arm{{Name: "A"}, {Name: "B", TargetSuccess: 0.6, Explore: &yes, Ranker: recommender.RankerBenefit}},
		Levels: []string{"5e"}, Start: t0, End: t0.Add(30 * 24 * time.Hour), Guardrails: experiment.Guardrails{MinUptake: 0.1}}
	if err := d.Normalize(); err != nil {
		panic(err)
	}
	return experiment.Experiment{Definition: d, CreatedBy: "an1", CreatedAt: t0.Add(-time.Hour),
		Assignments: []experiment.Assignment{{ClassID: "C1", SchoolID: "S1", Level: "5e", Arm: "A"}, {ClassID: "C2", SchoolID: "S1", Level: "5e", Arm: "B"}}}
}

func create(t *testing.T, x experiment.Store) experiment.Experiment {
	t.Helper()
	e := sample()
	if err := x.CreateExperiment(context.Background(), e); err != nil {
		t.Fatalf("CreateExperiment: %v", err)
	}
	return e
}

func createdReadsBack(t *testing.T, _ recommender.Store, x experiment.Store) {
	want := create(t, x)
	got, err := x.Experiment(context.Background(), "E1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("read back differs (-want +got):\n%s", d)
	}
	all, err := x.Experiments(context.Background())
	if err != nil || len(all) != 1 || all[0].ID != "E1" {
		t.Errorf("Experiments: %v, %v", all, err)
	}
}

func takenIDIsConflict(t *testing.T, _ recommender.Store, x experiment.Store) {
	create(t, x)
	err := x.CreateExperiment(context.Background(), sample())
	if !errors.Is(err, recommender.ErrConflict) {
		t.Errorf("second create: %v, want ErrConflict", err)
	}
}

func unknownIsNotFound(t *testing.T, _ recommender.Store, x experiment.Store) {
	ctx := context.Background()
	if _, err := x.Experiment(ctx, "nope"); !errors.Is(err, recommender.ErrNotFound) {
		t.Errorf("Experiment: %v", err)
	}
	if _, err := x.ExposureByList(ctx, "nope"); !errors.Is(err, recommender.ErrNotFound) {
		t.Errorf("ExposureByList: %v", err)
	}
	create(t, x)
	if err := x.SetOptOut(ctx, "E1", "C9", true, t0); !errors.Is(err, recommender.ErrNotFound) {
		t.Errorf("SetOptOut of a class not in it: %v", err)
	}
	if cs, err := x.ClassExperiments(ctx, "C9"); err != nil || len(cs) != 0 {
		t.Errorf("ClassExperiments of a class in none: %v %v", cs, err)
	}
}

func optOutTakesTheClassOut(t *testing.T, _ recommender.Store, x experiment.Store) {
	ctx := context.Background()
	create(t, x)
	cs, err := x.ClassExperiments(ctx, "C2")
	if err != nil || len(cs) != 1 {
		t.Fatalf("ClassExperiments: %v %v", cs, err)
	}
	if c := cs[0]; c.Arm.Name != "B" || c.ArmIndex != 1 || c.Arm.TargetSuccess != 0.6 || c.OptedOut {
		t.Errorf("class C2: %+v", c)
	}
	if _, ok := experiment.Active(cs, t0.Add(time.Hour)); !ok {
		t.Error("not active during the experiment")
	}
	if _, ok := experiment.Active(cs, t0.Add(-time.Hour)); ok {
		t.Error("active before its start")
	}
	if err := x.SetOptOut(ctx, "E1", "C2", true, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	cs, _ = x.ClassExperiments(ctx, "C2")
	if _, ok := experiment.Active(cs, t0.Add(3*time.Hour)); ok || !cs[0].OptedOut {
		t.Errorf("still active after opt-out: %+v", cs)
	}
	e, _ := x.Experiment(ctx, "E1")
	if a := e.Assignments[1]; !a.OptedOut || a.OptedOutAt == nil || !a.OptedOutAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("assignment after opt-out: %+v", a)
	}
	if err := x.SetOptOut(ctx, "E1", "C2", false, t0); err != nil {
		t.Fatal(err)
	}
	cs, _ = x.ClassExperiments(ctx, "C2")
	if _, ok := experiment.Active(cs, t0.Add(3*time.Hour)); !ok {
		t.Error("not active again after opting back in")
	}
}

func exposuresReadBack(t *testing.T, _ recommender.Store, x experiment.Store) {
	ctx := context.Background()
	create(t, x)
	late := experiment.Exposure{ExperimentID: "E1", Arm: "B", ClassID: "C2", StudentID: "P2", ListID: "L2", ResourceIDs: []string{"R3"}, Source: "cache", At: t0.Add(2 * time.Hour)}
	early := experiment.Exposure{ExperimentID: "E1", Arm: "A", ClassID: "C1", StudentID: "P1", ListID: "L1", ResourceIDs: []string{"R1", "R2"}, Source: "computed", At: t0.Add(time.Hour)}
	for _, e := range []experiment.Exposure{late, early} {
		if err := x.LogExposure(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := x.Exposures(ctx, "E1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]experiment.Exposure{early, late}, got); d != "" {
		t.Errorf("exposures (-want +got):\n%s", d)
	}
	if e, err := x.ExposureByList(ctx, "L2"); err != nil || e.StudentID != "P2" || e.Arm != "B" {
		t.Errorf("ExposureByList: %+v %v", e, err)
	}
	f := experiment.Feedback{ExperimentID: "E1", Arm: "A", StudentID: "P1", ListID: "L1", Kind: experiment.FeedbackLaunch, ResourceID: "R2", At: t0.Add(90 * time.Minute)}
	if err := x.LogFeedback(ctx, f); err != nil {
		t.Fatal(err)
	}
	fs, err := x.Feedback(ctx, "E1")
	if err != nil || len(fs) != 1 || fs[0] != f {
		t.Errorf("Feedback: %+v %v", fs, err)
	}
}

func exposureOfUnknownPupil(t *testing.T, _ recommender.Store, x experiment.Store) {
	create(t, x)
	err := x.LogExposure(context.Background(), experiment.Exposure{ExperimentID: "E1", Arm: "A", ClassID: "C1", StudentID: "P9", ListID: "L", At: t0})
	if !errors.Is(err, recommender.ErrNotFound) {
		t.Errorf("exposure of an unknown pupil: %v, want ErrNotFound", err)
	}
}

func erasureRemovesExposures(t *testing.T, s recommender.Store, x experiment.Store) {
	ctx := context.Background()
	create(t, x)
	for _, p := range []string{"P1", "P2"} {
		if err := x.LogExposure(ctx, experiment.Exposure{ExperimentID: "E1", Arm: "A", ClassID: "C1", StudentID: p, ListID: "L" + p, ResourceIDs: []string{"R1"}, Source: "computed", At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := x.LogFeedback(ctx, experiment.Feedback{ExperimentID: "E1", Arm: "A", StudentID: p, ListID: "L" + p, Kind: experiment.FeedbackImpression, At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteStudent(ctx, "P1"); err != nil {
		t.Fatal(err)
	}
	es, _ := x.Exposures(ctx, "E1")
	fs, _ := x.Feedback(ctx, "E1")
	if len(es) != 1 || es[0].StudentID != "P2" || len(fs) != 1 || fs[0].StudentID != "P2" {
		t.Errorf("after erasing P1: exposures %+v, feedback %+v", es, fs)
	}
	if _, err := x.ExposureByList(ctx, "LP1"); !errors.Is(err, recommender.ErrNotFound) {
		t.Errorf("erased pupil's list still found: %v", err)
	}
}

func purgeRemovesOld(t *testing.T, s recommender.Store, x experiment.Store) {
	ctx := context.Background()
	create(t, x)
	for i, at := range []time.Time{t0, t0.Add(48 * time.Hour)} {
		l := fmt.Sprint("L", i)
		if err := x.LogExposure(ctx, experiment.Exposure{ExperimentID: "E1", Arm: "A", ClassID: "C1", StudentID: "P1", ListID: l, ResourceIDs: []string{"R1"}, Source: "computed", At: at}); err != nil {
			t.Fatal(err)
		}
		if err := x.LogFeedback(ctx, experiment.Feedback{ExperimentID: "E1", Arm: "A", StudentID: "P1", ListID: l, Kind: experiment.FeedbackImpression, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Purge(ctx, t0.Add(-time.Hour), t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	es, _ := x.Exposures(ctx, "E1")
	fs, _ := x.Feedback(ctx, "E1")
	if len(es) != 1 || es[0].ListID != "L1" || len(fs) != 1 || fs[0].ListID != "L1" {
		t.Errorf("after the purge: exposures %+v, feedback %+v", es, fs)
	}
}

// pupilRowsAreTheirOwn: the RGPD export lists the pupil's exposures and feedback, in time
// order, and no other pupil's.
func pupilRowsAreTheirOwn(t *testing.T, _ recommender.Store, x experiment.Store) {
	ctx := context.Background()
	create(t, x)
	late := experiment.Exposure{ExperimentID: "E1", Arm: "A", ClassID: "C1", StudentID: "P1", ListID: "L1b", ResourceIDs: []string{"R3"}, Source: "cache", At: t0.Add(2 * time.Hour)}
	early := experiment.Exposure{ExperimentID: "E1", Arm: "A", ClassID: "C1", StudentID: "P1", ListID: "L1a", ResourceIDs: []string{"R1", "R2"}, Source: "computed", At: t0.Add(time.Hour)}
	other := experiment.Exposure{ExperimentID: "E1", Arm: "B", ClassID: "C2", StudentID: "P2", ListID: "L2", ResourceIDs: []string{"R1"}, Source: "computed", At: t0}
	for _, e := range []experiment.Exposure{late, early, other} {
		if err := x.LogExposure(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	launch := experiment.Feedback{ExperimentID: "E1", Arm: "A", StudentID: "P1", ListID: "L1a", Kind: experiment.FeedbackLaunch, ResourceID: "R2", At: t0.Add(90 * time.Minute)}
	seen := experiment.Feedback{ExperimentID: "E1", Arm: "A", StudentID: "P1", ListID: "L1a", Kind: experiment.FeedbackImpression, At: t0.Add(61 * time.Minute)}
	otherF := experiment.Feedback{ExperimentID: "E1", Arm: "B", StudentID: "P2", ListID: "L2", Kind: experiment.FeedbackImpression, At: t0}
	for _, f := range []experiment.Feedback{launch, seen, otherF} {
		if err := x.LogFeedback(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	es, fs, err := x.PupilRows(ctx, "P1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]experiment.Exposure{early, late}, es); d != "" {
		t.Errorf("P1's exposures (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]experiment.Feedback{seen, launch}, fs); d != "" {
		t.Errorf("P1's feedback (-want +got):\n%s", d)
	}
	es, fs, err = x.PupilRows(ctx, "P3")
	if err != nil || es == nil || fs == nil || len(es)+len(fs) != 0 {
		t.Errorf("P3 (no rows): %v %v %v; want two empty, non-nil lists", es, fs, err)
	}
}
