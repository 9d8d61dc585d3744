package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// personalise gives pupil id a profile, a decision and a served log, so that erasure and
// export have every kind of personal data to deal with.
func personalise(tb testing.TB, st recommender.Store, id string) (features.Profile, recommender.Decision, []recommender.Served) {
	tb.Helper()
	p := FixtureProfile(id, 0.25)
	if err := st.PutProfiles(ctx(), []features.Profile{p}); err != nil {
		tb.Fatal(err)
	}
	d := recommender.Decision{StudentID: id, ResourceID: "R02", Decision: recommender.DecisionPin,
		Comment: "à revoir", TeacherID: "T1", At: day(22, 0)}
	if err := st.AddDecision(ctx(), d); err != nil {
		tb.Fatal(err)
	}
	served := []recommender.Served{{ResourceID: "R05", At: day(23, 0)}, {ResourceID: "R06", At: day(23, 0)}}
	if err := st.LogServed(ctx(), id, []string{"R05", "R06"}, day(23, 0)); err != nil {
		tb.Fatal(err)
	}
	return p, d, served
}

func (s suite) exportHoldsEverything(t *testing.T) {
	st := s.loaded(t)
	p, d, served := personalise(t, st, "S1")
	ex, err := st.Export(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	f := Fixture()
	same(t, "student", ex.Student, f.Students[0])
	same(t, "grades", ex.Grades, []datasets.Grade{f.Grades[0], f.Grades[3], f.Grades[5]})
	same(t, "absences", ex.Absences, []datasets.Absence{})
	// Every statement held, voided and voiding ones too, in time order.
	same(t, "statements", ex.Statements, []datasets.Statement{f.Statements[0], f.Statements[1], f.Statements[2], f.Statements[8]})
	if ex.Profile == nil {
		t.Fatal("export has no profile")
	}
	// The vector travels in Export.Vector; Profile.Vector is not part of the contract here.
	gotP, wantP := *ex.Profile, p
	gotP.Vector, wantP.Vector = nil, nil
	same(t, "profile", gotP, wantP)
	same(t, "vector", ex.Vector, p.Vector)
	same(t, "decisions", ex.Decisions, []recommender.Decision{d})
	same(t, "served", ex.Served, served)
	if _, err := json.Marshal(ex); err != nil {
		t.Fatalf("export does not encode: %v", err)
	}

	ex, err = st.Export(ctx(), "S3")
	if err != nil {
		t.Fatal(err)
	}
	if ex.Profile != nil || len(ex.Vector) != 0 || len(ex.Absences) != 1 {
		t.Fatalf("S3 export: profile %v, vector %v, %d absences; want no profile, no vector, 1 absence", ex.Profile, ex.Vector, len(ex.Absences))
	}
	_, err = st.Export(ctx(), "S404")
	wantIs(t, err, recommender.ErrNotFound)
}

func (s suite) deleteStudentLeavesOnlyAudit(t *testing.T) {
	st := s.loaded(t)
	personalise(t, st, "S1")
	personalise(t, st, "S2")
	for _, sid := range []string{"S1", "S2", "S1"} {
		e := recommender.AuditEntry{At: day(24, 0), ActorID: "T1", ActorRole: "teacher", StudentID: sid, Action: "export"}
		if err := st.AppendAudit(ctx(), e); err != nil {
			t.Fatal(err)
		}
	}
	s2Before, err := st.Export(ctx(), "S2")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteStudent(ctx(), "S1"); err != nil {
		t.Fatal(err)
	}

	_, err = st.Student(ctx(), "S1")
	wantIs(t, err, recommender.ErrNotFound)
	_, err = st.PupilEvents(ctx(), "S1")
	wantIs(t, err, recommender.ErrNotFound)
	_, err = st.Export(ctx(), "S1")
	wantIs(t, err, recommender.ErrNotFound)
	_, err = st.Profile(ctx(), "S1")
	wantIs(t, err, recommender.ErrNotFound)
	wantIs(t, st.DeleteStudent(ctx(), "S1"), recommender.ErrNotFound)
	if ps, err := st.Profiles(ctx(), []string{"S1"}); err != nil || len(ps) != 0 {
		t.Fatalf("Profiles(S1) after erasure: %v, %v", ps, err)
	}
	if ds, err := st.Decisions(ctx(), "S1"); err != nil || len(ds) != 0 {
		t.Fatalf("Decisions(S1) after erasure: %v, %v", ds, err)
	}
	ids, err := st.StudentIDs(ctx())
	if err != nil {
		t.Fatal(err)
	}
	same(t, "StudentIDs", ids, []string{"S2", "S3", "S4", "S5", "S6"})
	counts, err := st.DecisionCounts(ctx(), SchoolA)
	if err != nil {
		t.Fatal(err)
	}
	if counts[recommender.DecisionPin] != 1 {
		t.Fatalf("pins in school A after erasing S1: %v, want only S2's", counts)
	}
	up, err := st.Uptake(ctx(), "", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if up.Pupils != 1 {
		t.Fatalf("Uptake counts %d pupils after erasing S1, want 1", up.Pupils)
	}

	// The audit entries stay: the access log outlives the data it logged.
	audit, err := st.Audit(ctx(), recommender.AuditQuery{StudentID: "S1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 {
		t.Fatalf("%d audit entries about S1 after erasure, want 2", len(audit))
	}
	// Other pupils are untouched.
	s2After, err := st.Export(ctx(), "S2")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "S2 after erasing S1", s2After, s2Before)

	// Once an admin lifts the tombstone, the same id coming back is a new pupil with
	// nothing from before; S1's old rows may be sent again without conflict.
	f := Fixture()
	if err := st.RemoveTombstone(ctx(), "S1"); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, st, &datasets.Dataset{Students: f.Students[:1]})
	ex, err := st.Export(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Grades)+len(ex.Statements)+len(ex.Decisions)+len(ex.Served) != 0 || ex.Profile != nil {
		t.Fatalf("re-created S1 inherits erased data: %+v", ex)
	}
	// Erased rows are gone, not hidden: sending them again is new data.
	for _, b := range []*datasets.Dataset{
		{Grades: f.Grades[:1]}, {Statements: f.Statements[:1]}, {Statements: f.Statements[2:3]},
	} {
		ch := mustIngest(t, st, b)
		same(t, "Changed when erased rows come back", ch, recommender.Changed{Students: []string{"S1"}})
		ch = mustIngest(t, st, b)
		same(t, "Changed on the second sending", ch, recommender.Changed{})
	}
}

func (s suite) purgeRemovesOldOnly(t *testing.T) {
	st := s.loaded(t)
	late := &datasets.Dataset{
		Lessons:    []datasets.Lesson{{ID: "L-LATE", ClassID: Class6A, Subject: "MATHS", Competencies: []string{"M5-EQ"}, Start: day(30, 0), End: day(30, 1)}},
		Grades:     []datasets.Grade{{ID: "G-LATE", StudentID: "S1", Subject: "MATHS", Competencies: []string{"M5-EQ"}, AssessmentID: "EV-M9", Date: day(30, 0), Score: 12, OutOf: 20, Coefficient: 1}},
		Absences:   []datasets.Absence{{ID: "A-LATE", StudentID: "S1", Start: day(31, 0), End: day(31, 4)}},
		Statements: []datasets.Statement{{ID: StatementID(900), StudentID: "S1", Verb: datasets.VerbCompleted, ObjectID: "R05", Timestamp: day(30, 2)}},
	}
	mustIngest(t, st, late)
	for _, d := range []int{1, 10, 20} {
		if err := st.AppendAudit(ctx(), recommender.AuditEntry{At: day(d, 0), ActorID: "T1", ActorRole: "teacher", StudentID: "S1", Action: fmt.Sprintf("read.%d", d)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []int{3, 40} {
		if err := st.LogServed(ctx(), "S1", []string{"R01"}, day(d, 0)); err != nil {
			t.Fatal(err)
		}
	}

	n, err := st.Purge(ctx(), day(15, 0), day(10, 12))
	if err != nil {
		t.Fatal(err)
	}
	// Fixture grades G01-G03 are dated day 10; every fixture absence, lesson and
	// statement is older than day 10 noon.
	same(t, "PurgeCounts", n, recommender.PurgeCounts{Audit: 2, Grades: 3, Absences: 3, Statements: 9, Lessons: 6})

	ev, err := st.PupilEvents(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	f := Fixture()
	same(t, "S1 grades kept", ev.Grades, []datasets.Grade{f.Grades[3], f.Grades[5], late.Grades[0]})
	same(t, "S1 absences kept", ev.Absences, late.Absences)
	same(t, "S1 lessons kept", ev.Lessons, late.Lessons)
	same(t, "S1 statements kept", ev.Statements, late.Statements)
	audit, err := st.Audit(ctx(), recommender.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Action != "read.20" {
		t.Fatalf("audit after purge: %+v, want only read.20", audit)
	}
	ex, err := st.Export(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "served kept", ex.Served, []recommender.Served{{ResourceID: "R01", At: day(40, 0)}})
	// Pupils themselves are not school events: they stay.
	if ids, _ := st.StudentIDs(ctx()); len(ids) != 6 {
		t.Fatalf("purge removed pupils: %v", ids)
	}

	n, err = st.Purge(ctx(), day(15, 0), day(10, 12))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "second purge", n, recommender.PurgeCounts{})
}

func (s suite) returnedSlicesAreCopies(t *testing.T) {
	st := s.loaded(t)
	p := FixtureProfile("S1", 0)
	if err := st.PutProfiles(ctx(), []features.Profile{p}); err != nil {
		t.Fatal(err)
	}
	// Mutate what was handed in...
	p.Vector[0] = 99
	p.Competencies["M6-NUM"] = features.CompetencyState{Theta: 99}
	p.Usage.Seen[0] = "MUTATED"
	// ...and what came out.
	_, res, err := st.Catalogue(ctx())
	if err != nil {
		t.Fatal(err)
	}
	res[0].Competencies[0] = "MUTATED"
	ev, err := st.PupilEvents(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	ev.Grades[0].Competencies[0] = "MUTATED"
	*ev.Statements[1].Scaled = 99
	got, err := st.Profile(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	got.Vector[1] = 99
	got.Missed[0].Competencies[0] = "MUTATED"

	_, res, _ = st.Catalogue(ctx())
	same(t, "resource", res[0], Fixture().Resources[0])
	ev, _ = st.PupilEvents(ctx(), "S1")
	same(t, "grade", ev.Grades[0], Fixture().Grades[0])
	same(t, "statement", ev.Statements[1], Fixture().Statements[1])
	got, _ = st.Profile(ctx(), "S1")
	same(t, "profile", got, FixtureProfile("S1", 0))
}

// concurrentReadsAndWrites runs writers and readers together; run it with -race.
func (s suite) concurrentReadsAndWrites(t *testing.T) {
	st := s.open(t)
	set := s.loadSearchSet(t, st)
	const workers, rounds = 4, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sid := fmt.Sprintf("S%d", w+1)
			for i := range rounds {
				g := datasets.Grade{ID: fmt.Sprintf("GC-%d-%d", w, i), StudentID: sid, Subject: "MATHS",
					Competencies: []string{"M6-NUM"}, AssessmentID: "EV-C", Date: day(50+i, 0), Score: float64(i % 20), OutOf: 20, Coefficient: 1}
				if _, err := st.Ingest(ctx(), &datasets.Dataset{Grades: []datasets.Grade{g}}); err != nil {
					t.Errorf("Ingest: %v", err)
					return
				}
				if err := st.AppendAudit(ctx(), recommender.AuditEntry{ActorID: "T", ActorRole: "teacher", StudentID: sid, Action: "read"}); err != nil {
					t.Errorf("AppendAudit: %v", err)
					return
				}
				if err := st.PutProfiles(ctx(), []features.Profile{FixtureProfile(sid, float64(i))}); err != nil {
					t.Errorf("PutProfiles: %v", err)
					return
				}
				if _, err := st.PupilEvents(ctx(), sid); err != nil {
					t.Errorf("PupilEvents: %v", err)
					return
				}
				if _, err := st.SearchResources(ctx(), set.vecs[i], 5, recommender.Filter{Subject: "MATHS"}); err != nil {
					t.Errorf("SearchResources: %v", err)
					return
				}
				if _, err := st.Export(ctx(), sid); err != nil {
					t.Errorf("Export: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	audit, err := st.Audit(ctx(), recommender.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != workers*rounds {
		t.Fatalf("%d audit entries, want %d", len(audit), workers*rounds)
	}
	seen := map[int64]bool{}
	for _, e := range audit {
		if seen[e.ID] {
			t.Fatalf("audit id %d given twice", e.ID)
		}
		seen[e.ID] = true
	}
	ev, err := st.PupilEvents(ctx(), "S2")
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Grades) != 2+rounds {
		t.Fatalf("S2 has %d grades, want %d", len(ev.Grades), 2+rounds)
	}
	p, err := st.Profile(ctx(), "S3")
	if err != nil {
		t.Fatal(err)
	}
	if p.Global != rounds-1 {
		t.Fatalf("S3 profile global = %v, want the last write %d", p.Global, rounds-1)
	}
}
