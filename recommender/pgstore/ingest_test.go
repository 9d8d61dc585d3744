package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

// openStore returns a migrated store on a fresh database.
func openStore(tb testing.TB) *pgstore.Store {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	s, err := pgstore.Open(context.Background(), url, pgstore.Options{Migrate: true})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func ingest(tb testing.TB, s *pgstore.Store, b *datasets.Dataset) recommender.Changed {
	tb.Helper()
	ch, err := s.Ingest(context.Background(), b)
	if err != nil {
		tb.Fatalf("Ingest: %v", err)
	}
	return ch
}

func TestIngestFixtureThenSameAgainChangesNothing(t *testing.T) {
	for _, mode := range ingestModes {
		t.Run(mode.name, func(t *testing.T) {
			s := openStore(t)
			mode.set(s)
			testIngestFixture(t, s)
		})
	}
}

func testIngestFixture(t *testing.T, s *pgstore.Store) {
	ctx := context.Background()
	ch := ingest(t, s, storetest.Fixture())
	want := recommender.Changed{
		Students:  []string{"S1", "S2", "S3", "S4", "S5", "S6"},
		Classes:   []string{storetest.Class5B, storetest.Class6A},
		Catalogue: true,
	}
	if diff := cmp.Diff(want, ch); diff != "" {
		t.Errorf("first ingest Changed (-want +got):\n%s", diff)
	}
	if ch := ingest(t, s, storetest.Fixture()); len(ch.Students)+len(ch.Classes) != 0 || ch.Catalogue {
		t.Errorf("re-ingest Changed = %+v, want nothing", ch)
	}

	fx := storetest.Fixture()
	comps, res, err := s.Catalogue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(fx.Competencies, func(a, b datasets.Competency) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(fx.Resources, func(a, b datasets.Resource) int { return strings.Compare(a.ID, b.ID) })
	if diff := cmp.Diff(fx.Competencies, comps, cmp.Transformer("nilIsEmpty", emptyIfNil)); diff != "" {
		t.Errorf("Catalogue competencies (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fx.Resources, res); diff != "" {
		t.Errorf("Catalogue resources (-want +got):\n%s", diff)
	}
	ev, err := s.PupilEvents(ctx, "S1")
	if err != nil {
		t.Fatal(err)
	}
	var wantStmts []string
	for _, st := range fx.Statements {
		if st.StudentID == "S1" && st.ID != storetest.StmtVoided && st.Verb != datasets.VerbVoided {
			wantStmts = append(wantStmts, st.ID)
		}
	}
	var gotStmts []string
	for _, st := range ev.Statements {
		gotStmts = append(gotStmts, st.ID)
	}
	if diff := cmp.Diff(wantStmts, gotStmts); diff != "" {
		t.Errorf("S1 statements (voided left out) (-want +got):\n%s", diff)
	}
	if got := len(ev.Lessons); got != 3 {
		t.Errorf("S1 lessons = %d, want the 3 of class 6A", got)
	}
	for _, st := range ev.Statements {
		if st.ID == storetest.StatementID(2) {
			if st.Scaled == nil || *st.Scaled != 0.75 || st.Duration == nil || *st.Duration != 4*time.Minute || st.Completion != nil {
				t.Errorf("statement 2 optional fields did not round-trip: %+v", st)
			}
		}
	}
}

func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestIngestChangedNamesOnlyTouchedRows(t *testing.T) {
	s := openStore(t)
	ingest(t, s, storetest.Fixture())

	fx := storetest.Fixture()
	g := fx.Grades[1] // S2's
	g.Score = 19
	l := fx.Lessons[0] // moves from 6A to 5B
	l.ClassID = storetest.Class5B
	st := datasets.Statement{ID: "new-stmt", StudentID: "S4", Verb: datasets.VerbVoided, ObjectID: storetest.StatementID(7), Timestamp: storetest.Base}
	ch := ingest(t, s, &datasets.Dataset{Grades: []datasets.Grade{g, fx.Grades[0]}, Lessons: []datasets.Lesson{l}, Statements: []datasets.Statement{st}})
	want := recommender.Changed{Students: []string{"S1", "S2", "S3", "S4", "S5", "S6"}, Classes: []string{storetest.Class5B, storetest.Class6A}}
	if diff := cmp.Diff(want, ch); diff != "" {
		t.Errorf("Changed (-want +got):\n%s", diff)
	}
}

func TestIngestRejects(t *testing.T) {
	fixture := storetest.Fixture
	cases := []struct {
		name     string
		batch    func() *datasets.Dataset
		file     string
		line     int
		field    string
		conflict bool
	}{
		{"RejectsUnknownStudentAtItsLine", func() *datasets.Dataset {
			b := fixture()
			b.Grades[3].StudentID = "NOPE"
			return b
		}, "grades.csv", 5, "student_id", false},
		{"RejectsUnknownCompetencyOfGrade", func() *datasets.Dataset {
			b := fixture()
			b.Grades[0].Competencies = []string{"M6-NUM", "ZZ"}
			return b
		}, "grades.csv", 2, "competencies", false},
		{"ReportsTheFirstBadLineAcrossChecks", func() *datasets.Dataset {
			b := fixture()
			b.Grades[5].StudentID = "NOPE"
			b.Grades[2].Competencies = []string{"ZZ"}
			return b
		}, "grades.csv", 4, "competencies", false},
		{"RejectsDuplicateIDInBatch", func() *datasets.Dataset {
			b := fixture()
			b.Absences[2].ID = b.Absences[0].ID
			return b
		}, "absences.csv", 4, "absence_id", false},
		{"RejectsUnknownPrerequisite", func() *datasets.Dataset {
			b := fixture()
			b.Competencies[1].Prerequisites = []string{"M6-NUM", "GHOST"}
			return b
		}, "competencies.csv", 3, "prerequisites", false},
		{"RejectsPrerequisiteCycle", func() *datasets.Dataset {
			b := fixture()
			b.Competencies[0].Prerequisites = []string{"M5-EQ"}
			return b
		}, "competencies.csv", 2, "prerequisites", false},
		{"RejectsStatementOfUnknownResource", func() *datasets.Dataset {
			b := fixture()
			b.Statements[4].ObjectID = "R99"
			return b
		}, "usage.jsonl", 5, "object.id", false},
		{"RejectsStatementOfUnknownActor", func() *datasets.Dataset {
			b := fixture()
			b.Statements[0].StudentID = "S99"
			return b
		}, "usage.jsonl", 1, "actor.account.name", false},
		{"RejectsUnknownLessonCompetency", func() *datasets.Dataset {
			b := fixture()
			b.Lessons[5].Competencies = []string{"ZZ"}
			return b
		}, "lessons.csv", 7, "competencies", false},
	}
	for _, tc := range cases {
		for _, mode := range ingestModes {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				s := openStore(t)
				mode.set(s)
				_, err := s.Ingest(context.Background(), tc.batch())
				var re *datasets.Error
				if !errors.As(err, &re) {
					t.Fatalf("Ingest error = %v, want a *datasets.Error", err)
				}
				if re.File != tc.file || re.Line != tc.line || re.Field != tc.field {
					t.Errorf("error = %s:%d %s, want %s:%d %s (%v)", re.File, re.Line, re.Field, tc.file, tc.line, tc.field, err)
				}
				assertEmpty(t, s)
			})
		}
	}
}

// ingestModes are Ingest's two paths: new rows straight into the tables, or staged and
// upserted (forced here, taken in production when a batch holds stored ids).
var ingestModes = []struct {
	name string
	set  func(*pgstore.Store)
}{
	{"Direct", func(*pgstore.Store) {}},
	{"Staged", pgstore.ForceStaging},
}

// assertEmpty checks that a failed batch wrote nothing.
func assertEmpty(tb testing.TB, s *pgstore.Store) {
	tb.Helper()
	ids, err := s.StudentIDs(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	comps, _, err := s.Catalogue(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	if len(ids) != 0 || len(comps) != 0 {
		tb.Errorf("failed batch left %d students and %d competencies behind", len(ids), len(comps))
	}
}

func TestIngestConflicts(t *testing.T) {
	cases := []struct {
		name   string
		change func(b *datasets.Dataset)
	}{
		{"RejectsGradeMovedToAnotherPupil", func(b *datasets.Dataset) { b.Grades[0].StudentID = "S2" }},
		{"RejectsAbsenceMovedToAnotherPupil", func(b *datasets.Dataset) { b.Absences[0].StudentID = "S1" }},
		{"RejectsStatementWithSameIDOtherContent", func(b *datasets.Dataset) { b.Statements[0].Timestamp = b.Statements[0].Timestamp.Add(time.Second) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			ingest(t, s, storetest.Fixture())
			b := storetest.Fixture()
			tc.change(b)
			b.Students[0].Consent = false // would change if the batch were applied
			_, err := s.Ingest(context.Background(), b)
			if !errors.Is(err, recommender.ErrConflict) {
				t.Fatalf("Ingest error = %v, want ErrConflict", err)
			}
			st, err := s.Student(context.Background(), "S1")
			if err != nil {
				t.Fatal(err)
			}
			if !st.Consent {
				t.Error("a conflicting batch was partly applied")
			}
		})
	}
}

func TestErasureAndPurge(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ingest(t, s, storetest.Fixture())
	if err := s.AppendAudit(ctx, recommender.AuditEntry{At: storetest.Base, ActorID: "T1", ActorRole: "teacher", StudentID: "S1", Action: "export"}); err != nil {
		t.Fatal(err)
	}
	if err := s.LogServed(ctx, "S1", []string{"R01", "R02"}, storetest.Base); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStudent(ctx, "S1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Student(ctx, "S1"); !errors.Is(err, recommender.ErrNotFound) {
		t.Errorf("Student after erasure: %v, want ErrNotFound", err)
	}
	if _, err := s.Export(ctx, "S1"); !errors.Is(err, recommender.ErrNotFound) {
		t.Errorf("Export after erasure: %v, want ErrNotFound", err)
	}
	if a, err := s.Audit(ctx, recommender.AuditQuery{StudentID: "S1"}); err != nil || len(a) != 1 {
		t.Errorf("audit after erasure = %d entries (%v), want the 1 kept", len(a), err)
	}
	// The erased pupil stays erased until an admin lifts the tombstone (issue 13.2); then
	// re-ingesting the old rows is allowed: they are new rows now.
	if _, err := s.Ingest(ctx, storetest.Fixture()); !errors.Is(err, recommender.ErrConflict) {
		t.Fatalf("re-ingest of an erased pupil: %v, want a conflict", err)
	}
	if err := s.RemoveTombstone(ctx, "S1"); err != nil {
		t.Fatal(err)
	}
	ingest(t, s, storetest.Fixture())
	pc, err := s.Purge(ctx, storetest.Base.Add(time.Hour), storetest.Base.AddDate(0, 0, 11).Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := recommender.PurgeCounts{Audit: 1, Grades: 6, Absences: 3, Statements: 9, Lessons: 6}
	if pc != want {
		t.Errorf("Purge = %+v, want %+v", pc, want)
	}
	left, _ := s.PupilEvents(ctx, "S1")
	if !slices.EqualFunc(left.Grades, []datasets.Grade{{ID: "G04"}, {ID: "G06"}}, func(a, b datasets.Grade) bool { return a.ID == b.ID }) {
		t.Errorf("S1 grades after purge = %v", left.Grades)
	}
}
