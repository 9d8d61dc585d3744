package storetest

import (
	"errors"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// accessGenerationChangesWithEveryWrite: Access reads the row of record, and the
// generation changes with every write an answer depends on (class, consent, profile,
// decision), never with a read or an identical re-ingest, and never comes back after an
// erasure and re-creation.
func (s suite) accessGenerationChangesWithEveryWrite(t *testing.T) {
	st := s.loaded(t)
	seen := map[int64]string{}
	read := func(step string) recommender.Access {
		t.Helper()
		a, err := st.Access(ctx(), "S1")
		if err != nil {
			t.Fatalf("%s: Access: %v", step, err)
		}
		return a
	}
	changed := func(step string) recommender.Access {
		t.Helper()
		a := read(step)
		if prev, ok := seen[a.Generation]; ok {
			t.Fatalf("%s: generation %d already seen at %q", step, a.Generation, prev)
		}
		seen[a.Generation] = step
		return a
	}
	a := changed("load")
	same(t, "load", a, recommender.Access{StudentID: "S1", SchoolID: SchoolA, ClassID: Class6A, Consent: true, Generation: a.Generation})
	if b := read("read again"); b.Generation != a.Generation {
		t.Fatalf("a read changed the generation: %d -> %d", a.Generation, b.Generation)
	}
	mustIngest(t, st, Fixture())
	if b := read("identical re-ingest"); b.Generation != a.Generation {
		t.Fatalf("an identical re-ingest changed the generation: %d -> %d", a.Generation, b.Generation)
	}
	moved := Fixture().Students[0]
	moved.ClassID = Class5B
	mustIngest(t, st, &datasets.Dataset{Students: []datasets.Student{moved}})
	if a := changed("class change"); a.ClassID != Class5B {
		t.Fatalf("class %q after the move", a.ClassID)
	}
	if err := st.SetConsent(ctx(), "S1", false); err != nil {
		t.Fatal(err)
	}
	if a := changed("consent withdrawn"); a.Consent {
		t.Fatal("consent still true")
	}
	if err := st.PutProfiles(ctx(), []features.Profile{FixtureProfile("S1", 0.5)}); err != nil {
		t.Fatal(err)
	}
	changed("profile")
	if err := st.AddDecision(ctx(), recommender.Decision{StudentID: "S1", ResourceID: "R02", Decision: recommender.DecisionPin, TeacherID: "T1", At: day(22, 0)}); err != nil {
		t.Fatal(err)
	}
	changed("decision")
	if err := st.DeleteStudent(ctx(), "S1"); err != nil {
		t.Fatal(err)
	}
	_, err := st.Access(ctx(), "S1")
	wantIs(t, err, recommender.ErrNotFound)
	if err := st.RemoveTombstone(ctx(), "S1"); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, st, &datasets.Dataset{Students: []datasets.Student{Fixture().Students[0]}})
	changed("created again")
}

// erasureLeavesATombstone: after DeleteStudent, any row naming the pupil is refused with
// a conflict naming the file, line and field, until RemoveTombstone; consent writes too.
func (s suite) erasureLeavesATombstone(t *testing.T) {
	st := s.loaded(t)
	if err := st.DeleteStudent(ctx(), "S1"); err != nil {
		t.Fatal(err)
	}
	f := Fixture()
	for name, batch := range map[string]*datasets.Dataset{
		"students": {Students: f.Students[:1]},
		"grades":   {Grades: []datasets.Grade{{ID: "G-new", StudentID: "S1", Subject: "MATHS", Competencies: []string{"M6-NUM"}, AssessmentID: "A9", Date: day(30, 0), Score: 10, OutOf: 20, Coefficient: 1}}},
	} {
		_, err := st.Ingest(ctx(), batch)
		wantIs(t, err, recommender.ErrConflict)
		var de *datasets.Error
		if !errors.As(err, &de) || de.Field != "student_id" || de.Line != 2 {
			t.Fatalf("%s: %v, want a conflict at line 2 naming student_id", name, err)
		}
	}
	wantIs(t, st.SetConsent(ctx(), "S1", true), recommender.ErrConflict)
	wantIs(t, st.RemoveTombstone(ctx(), "S2"), recommender.ErrNotFound)
	if err := st.RemoveTombstone(ctx(), "S1"); err != nil {
		t.Fatal(err)
	}
	wantIs(t, st.RemoveTombstone(ctx(), "S1"), recommender.ErrNotFound)
	mustIngest(t, st, &datasets.Dataset{Students: f.Students[:1]})
}
