package offline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

var splitAt = time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC) // a Monday

func stmt(id, pupil, res string, at time.Time, ok bool) datasets.Statement {
	return datasets.Statement{ID: id, StudentID: pupil, Verb: datasets.VerbAnswered, ObjectID: res, Timestamp: at, Success: &ok}
}

// leakCase: R-OLD was used by one pupil before the split; R-NEW only after it, by
// three pupils, pupil X among them. Trained on the past, popularity puts R-OLD first
// for X; had the future leaked into training, R-NEW would come first and X's NDCG@1
// would be 1 instead of 0.
func leakCase() *datasets.Dataset {
	before, after := splitAt.Add(-48*time.Hour), splitAt.Add(48*time.Hour)
	ds := &datasets.Dataset{
		Competencies: []datasets.Competency{{ID: "C", Subject: "MATHS", Level: "6e"}},
		Resources: []datasets.Resource{
			{ID: "R-OLD", Subject: "MATHS", Level: "6e", Type: "quiz", Competencies: []string{"C"}},
			{ID: "R-NEW", Subject: "MATHS", Level: "6e", Type: "quiz", Competencies: []string{"C"}},
		},
		Grades: []datasets.Grade{
			{ID: "G1", StudentID: "X", Subject: "MATHS", Competencies: []string{"C"}, Date: before, Score: 10, OutOf: 20, Coefficient: 1},
			{ID: "G2", StudentID: "X", Subject: "MATHS", Competencies: []string{"C"}, Date: after, Score: 20, OutOf: 20, Coefficient: 1},
		},
		Absences: []datasets.Absence{
			{ID: "A1", StudentID: "X", Start: before, End: before.Add(time.Hour)},
			{ID: "A2", StudentID: "X", Start: after, End: after.Add(time.Hour)},
		},
		Statements: []datasets.Statement{
			stmt("S0", "W", "R-OLD", before, true),
			stmt("S-VOIDED-LATER", "W", "R-OLD", before, true),
			{ID: "V1", StudentID: "W", Verb: datasets.VerbVoided, ObjectID: "S-VOIDED-LATER", Timestamp: after},
		},
	}
	for i, p := range []string{"X", "Y", "Z"} {
		ds.Statements = append(ds.Statements, stmt(fmt.Sprint("S", i+1), p, "R-NEW", after, true))
	}
	ds.Statements = append(ds.Statements, stmt("S-FAIL", "Y", "R-OLD", after, false))
	for _, p := range []string{"W", "X", "Y", "Z"} {
		ds.Students = append(ds.Students, datasets.Student{ID: p, SchoolID: "S", ClassID: "C6", Level: "6e", Consent: true})
	}
	return ds
}

func TestSplitKeepsTheFutureOutOfTraining(t *testing.T) {
	ds := leakCase()
	sp := SplitAt(ds, splitAt)
	for _, s := range sp.Train.Statements {
		if !s.Timestamp.Before(splitAt) {
			t.Errorf("training holds statement %s of %s", s.ID, s.Timestamp)
		}
	}
	if len(sp.Train.Grades) != 1 || sp.Train.Grades[0].ID != "G1" {
		t.Errorf("training grades %+v, want G1 only", sp.Train.Grades)
	}
	if len(sp.Train.Absences) != 1 || sp.Train.Absences[0].ID != "A1" {
		t.Errorf("training absences %+v, want A1 only", sp.Train.Absences)
	}
	if len(sp.Train.Students) != 4 || len(sp.Train.Resources) != 2 {
		t.Errorf("training keeps %d students and %d resources, want all", len(sp.Train.Students), len(sp.Train.Resources))
	}

	w := newWorld(mustCatalogue(t, ds), sp)
	pop := newPopular(w, newEligibility(mustCatalogue(t, ds), ds.Students, sp.TrainSuccess).newRun())
	got, _ := pop.Recommend(context.Background(), "X", 1)
	if len(got) != 1 || got[0] != "R-OLD" {
		t.Fatalf("popularity trained on the past recommends %v to X, want [R-OLD]", got)
	}
	if ndcg := NDCG(got, sp.Truth["X"], 1); ndcg != 0 {
		t.Errorf("NDCG@1 of X = %v, want 0 (1 would mean R-NEW's later use leaked)", ndcg)
	}

	// The same policy trained on everything (a leak) would change the result: the test
	// would catch a split that let the future in.
	leaky := SplitAt(ds, splitAt.AddDate(1, 0, 0))
	lw := newWorld(mustCatalogue(t, ds), leaky)
	lgot, _ := newPopular(lw, newEligibility(mustCatalogue(t, ds), ds.Students, nil).newRun()).Recommend(context.Background(), "X", 1)
	if len(lgot) != 1 || lgot[0] != "R-NEW" || NDCG(lgot, sp.Truth["X"], 1) != 1 {
		t.Errorf("leaky popularity recommends %v: the case no longer tells a leak apart", lgot)
	}
}

func TestSplitTruthIsNewSuccessesAfterTheSplit(t *testing.T) {
	sp := SplitAt(leakCase(), splitAt)
	tests := []struct {
		pupil, res string
		want       bool
	}{
		{"X", "R-NEW", true},  // succeeded after the split
		{"Y", "R-OLD", false}, // failed after the split
		{"W", "R-OLD", false}, // succeeded before the split only
	}
	for _, tc := range tests {
		t.Run(tc.pupil+"/"+tc.res, func(t *testing.T) {
			if got := sp.Truth[tc.pupil][tc.res]; got != tc.want {
				t.Errorf("truth[%s][%s] = %v, want %v", tc.pupil, tc.res, got, tc.want)
			}
		})
	}
	// A void issued after the split was not known at training time.
	found := false
	for _, s := range sp.Train.Statements {
		found = found || s.ID == "S-VOIDED-LATER"
	}
	if !found {
		t.Error("a statement voided only after the split was dropped from training")
	}
}

func TestSplitQuantileFallsOnAMondayAtTheQuantile(t *testing.T) {
	ds := leakCase()
	sp, err := SplitQuantile(ds, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if sp.At.Weekday() != time.Monday || sp.At.Hour() != 0 {
		t.Errorf("split at %s, want a Monday midnight", sp.At)
	}
	if sp.At.After(splitAt.Add(48*time.Hour)) || !sp.At.After(splitAt.Add(-7*24*time.Hour)) {
		t.Errorf("split at %s, want the week of the median statement", sp.At)
	}
	if _, err := SplitQuantile(ds, 1); err == nil {
		t.Error("quantile 1 accepted")
	}
}

func mustCatalogue(t testing.TB, ds *datasets.Dataset) *datasets.Catalogue {
	t.Helper()
	cat, err := datasets.NewCatalogue(ds.Competencies, ds.Resources)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}
