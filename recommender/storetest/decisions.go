package storetest

import (
	"testing"

	"github.com/parcours-ent/parcours/recommender"
)

// decisionHistoryKeepsUndos: an undo is stored like any decision, in time order, and
// replaying the history gives the decision in force; the history goes with the pupil.
func (s suite) decisionHistoryKeepsUndos(t *testing.T) {
	st := s.loaded(t)
	d := func(res, dec string, h int) recommender.Decision {
		return recommender.Decision{StudentID: "S1", ResourceID: res, Decision: dec, TeacherID: "T1", At: day(12, h)}
	}
	in := []recommender.Decision{
		d("R01", recommender.DecisionReject, 8),
		d("R01", recommender.DecisionPin, 9),
		d("R02", recommender.DecisionApprove, 9),
		d("R01", recommender.DecisionUndo, 10),
		d("R02", recommender.DecisionUndo, 11),
	}
	for _, x := range in {
		if err := st.AddDecision(ctx(), x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Decisions(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "history", got, in)
	latest := recommender.LatestDecisions(got)
	if len(latest) != 1 || latest["R01"].Decision != recommender.DecisionReject {
		t.Fatalf("in force after the undos: %+v; want only R01's rejection", latest)
	}
	bad := d("R01", "redo", 12)
	err = st.AddDecision(ctx(), bad)
	wantIs(t, err, recommender.ErrInvalid)
	if err := st.DeleteStudent(ctx(), "S1"); err != nil {
		t.Fatal(err)
	}
	if left, err := st.Decisions(ctx(), "S1"); err != nil || len(left) != 0 {
		t.Fatalf("after erasure: %d decisions (%v); want none", len(left), err)
	}
}
