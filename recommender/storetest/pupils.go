package storetest

import (
	"slices"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

func (s suite) studentReadsBackAndUnknownIsNotFound(t *testing.T) {
	st := s.loaded(t)
	got, err := st.Student(ctx(), "S6")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "S6", got, Fixture().Students[5])
	_, err = st.Student(ctx(), "S404")
	wantIs(t, err, recommender.ErrNotFound)
	_, err = st.PupilEvents(ctx(), "S404")
	wantIs(t, err, recommender.ErrNotFound)
	ids, err := st.StudentIDs(ctx())
	if err != nil {
		t.Fatal(err)
	}
	same(t, "StudentIDs", ids, []string{"S1", "S2", "S3", "S4", "S5", "S6"})
}

func (s suite) classAndSchoolStudentsSorted(t *testing.T) {
	st := s.open(t)
	f := Fixture()
	// Ingest pupils in reverse so that insertion order cannot pass for sorting.
	slices.Reverse(f.Students)
	mustIngest(t, st, f)
	f = Fixture()
	got, err := st.ClassStudents(ctx(), Class5B)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "class 5B", got, f.Students[3:6])
	got, err = st.SchoolStudents(ctx(), SchoolA)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "school A", got, f.Students[0:3])
	got, err = st.ClassStudents(ctx(), "NO-CLASS")
	if err != nil || len(got) != 0 {
		t.Fatalf("unknown class: %v, %v; want no pupils and no error", got, err)
	}
}

func (s suite) pupilEventsInTimeOrder(t *testing.T) {
	st := s.open(t)
	f := Fixture()
	// Rows arrive out of time order; events come back in time order.
	slices.Reverse(f.Grades)
	slices.Reverse(f.Lessons)
	slices.Reverse(f.Statements)
	mustIngest(t, st, f)
	f = Fixture()
	ev, err := st.PupilEvents(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "student", ev.Student, f.Students[0])
	same(t, "grades", ev.Grades, []datasets.Grade{f.Grades[0], f.Grades[3], f.Grades[5]})
	same(t, "lessons", ev.Lessons, f.Lessons[0:3])
	same(t, "statements", ev.Statements, f.Statements[0:2])
	ev, err = st.PupilEvents(ctx(), "S5")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "S5 absences", ev.Absences, f.Absences[2:3])
	same(t, "S5 lessons", ev.Lessons, f.Lessons[3:6])
}

func (s suite) setConsentPersists(t *testing.T) {
	st := s.loaded(t)
	if err := st.SetConsent(ctx(), "S6", true); err != nil {
		t.Fatal(err)
	}
	got, err := st.Student(ctx(), "S6")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Consent {
		t.Fatal("S6 consent still false after SetConsent(true)")
	}
	wantIs(t, st.SetConsent(ctx(), "S404", true), recommender.ErrNotFound)
}

func (s suite) movedPupilSeesNewTimetable(t *testing.T) {
	st := s.loaded(t)
	f := Fixture()
	moved := f.Students[0]
	moved.ClassID, moved.SchoolID, moved.Level = Class5B, SchoolB, "5e"
	ch := mustIngest(t, st, &datasets.Dataset{Students: []datasets.Student{moved}})
	same(t, "Changed", ch, recommender.Changed{Students: []string{"S1"}})
	ev, err := st.PupilEvents(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "S1 lessons after the move", ev.Lessons, f.Lessons[3:6])
	same(t, "S1 grades travel with the pupil", len(ev.Grades), 3)
	got, err := st.ClassStudents(ctx(), Class6A)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "class 6A", got, f.Students[1:3])
}
