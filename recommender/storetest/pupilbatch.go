package storetest

import (
	"errors"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// eachPupilEventsMatchesPupilEvents: whatever the batch size, every pupil comes once, in
// id order, in batches no larger than asked; a consenting pupil with exactly what
// PupilEvents gives (voided statements left out), one without consent with the Student
// only; an error from fn stops the pass.
func (s suite) eachPupilEventsMatchesPupilEvents(t *testing.T) {
	st := s.loaded(t)
	f := Fixture()
	// Void one of S1's statements: the pass must leave it out as PupilEvents does.
	mustIngest(t, st, &datasets.Dataset{Statements: []datasets.Statement{{ID: "VOID-1", StudentID: "S1",
		Verb: datasets.VerbVoided, ObjectID: f.Statements[0].ID, Timestamp: f.Statements[0].Timestamp.Add(1)}}})
	ids, err := st.StudentIDs(ctx())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 4, 100} {
		var got []features.PupilEvents
		calls := 0
		err := st.EachPupilEvents(ctx(), n, func(b []features.PupilEvents) error {
			calls++
			if len(b) == 0 || len(b) > n {
				t.Fatalf("batch size %d: a batch of %d pupils", n, len(b))
			}
			got = append(got, b...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := (len(ids) + n - 1) / n; calls != want {
			t.Errorf("batch size %d: %d calls, want %d", n, calls, want)
		}
		var gotIDs []string
		for _, ev := range got {
			gotIDs = append(gotIDs, ev.Student.ID)
		}
		same(t, "ids in order", gotIDs, ids)
		consenting := 0
		for _, ev := range got {
			one, err := st.Student(ctx(), ev.Student.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !one.Consent {
				same(t, "pupil without consent", ev, features.PupilEvents{Student: one})
				continue
			}
			consenting++
			want, err := st.PupilEvents(ctx(), ev.Student.ID)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "events of "+ev.Student.ID, ev, want)
		}
		if consenting == 0 || consenting == len(ids) {
			t.Fatalf("the fixture should mix consent: %d of %d consent", consenting, len(ids))
		}
	}
	stop := errors.New("stop")
	calls := 0
	err = st.EachPupilEvents(ctx(), 2, func([]features.PupilEvents) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn's error: got %v after %d calls, want it after 1", err, calls)
	}
	wantIs(t, st.EachPupilEvents(ctx(), 0, func([]features.PupilEvents) error { return nil }), recommender.ErrInvalid)
}
