package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

func (s suite) firstLoadReportsEverythingChanged(t *testing.T) {
	st := s.open(t)
	ch := mustIngest(t, st, Fixture())
	same(t, "Changed", ch, recommender.Changed{
		Students:  []string{"S1", "S2", "S3", "S4", "S5", "S6"},
		Classes:   []string{Class5B, Class6A},
		Catalogue: true,
	})
}

func (s suite) emptyBatchChangesNothing(t *testing.T) {
	st := s.loaded(t)
	for _, b := range []*datasets.Dataset{{}, {Grades: []datasets.Grade{}}} {
		ch, err := st.Ingest(ctx(), b)
		if err != nil {
			t.Fatalf("Ingest of an empty batch: %v", err)
		}
		same(t, "Changed", ch, recommender.Changed{})
	}
}

func (s suite) ingestIsIdempotent(t *testing.T) {
	st := s.loaded(t)
	ch := mustIngest(t, st, Fixture())
	same(t, "Changed on re-ingest", ch, recommender.Changed{})
	ev, err := st.PupilEvents(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Grades) != 3 || len(ev.Statements) != 2 {
		t.Fatalf("S1 after re-ingest: %d grades, %d statements; want 3 and 2", len(ev.Grades), len(ev.Statements))
	}
}

func (s suite) rejectsUnknownStudentWithLine(t *testing.T) {
	st := s.loaded(t)
	f := Fixture()
	g := f.Grades[:3:3]
	g[2].ID, g[2].StudentID = "G-NEW", "S404"
	_, err := st.Ingest(ctx(), &datasets.Dataset{Grades: g})
	wantRowError(t, err, "grades.csv", 4, "student_id")

	_, err = st.Ingest(ctx(), &datasets.Dataset{Absences: []datasets.Absence{
		{ID: "A-NEW", StudentID: "S404", Start: day(3, 0), End: day(3, 1)},
	}})
	wantRowError(t, err, "absences.csv", 2, "student_id")

	stm := f.Statements[0]
	stm.ID, stm.StudentID = StatementID(500), "S404"
	_, err = st.Ingest(ctx(), &datasets.Dataset{Statements: []datasets.Statement{f.Statements[1], stm}})
	// JSON Lines have no header: the second statement is line 2.
	wantRowError(t, err, "usage.jsonl", 2, "actor.account.name")
}

func (s suite) rejectsUnknownCompetencyWithLine(t *testing.T) {
	st := s.loaded(t)
	f := Fixture()
	r := f.Resources[:2:2]
	r[1].Competencies = []string{"M6-NUM", "NOPE"}
	_, err := st.Ingest(ctx(), &datasets.Dataset{Resources: r})
	wantRowError(t, err, "resources.csv", 3, "competencies")

	g := f.Grades[0]
	g.Competencies = []string{"NOPE"}
	_, err = st.Ingest(ctx(), &datasets.Dataset{Grades: []datasets.Grade{g}})
	wantRowError(t, err, "grades.csv", 2, "competencies")

	l := f.Lessons[0]
	l.Competencies = []string{"NOPE"}
	_, err = st.Ingest(ctx(), &datasets.Dataset{Lessons: []datasets.Lesson{l}})
	wantRowError(t, err, "lessons.csv", 2, "competencies")
}

func (s suite) rejectsUnknownPrerequisite(t *testing.T) {
	st := s.open(t)
	f := Fixture()
	f.Competencies[4].Prerequisites = []string{"F6-LEC", "NOPE"}
	_, err := st.Ingest(ctx(), &datasets.Dataset{Competencies: f.Competencies})
	wantRowError(t, err, "competencies.csv", 6, "prerequisites")
}

func (s suite) rejectsPrerequisiteCycle(t *testing.T) {
	st := s.loaded(t)
	// M6-NUM <- M6-FRAC already; making M6-NUM need M5-EQ closes a cycle through
	// stored rows and the batch together.
	c := Fixture().Competencies[0]
	c.Prerequisites = []string{"M5-EQ"}
	_, err := st.Ingest(ctx(), &datasets.Dataset{Competencies: []datasets.Competency{c}})
	wantRowError(t, err, "competencies.csv", 2, "prerequisites")
}

func (s suite) rejectsUnknownResourceInStatement(t *testing.T) {
	st := s.loaded(t)
	f := Fixture()
	bad := f.Statements[0]
	bad.ID, bad.ObjectID = StatementID(600), "R404"
	_, err := st.Ingest(ctx(), &datasets.Dataset{Statements: []datasets.Statement{bad}})
	wantRowError(t, err, "usage.jsonl", 1, "object.id")

	// A voiding statement names a statement, which must exist.
	void := datasets.Statement{ID: StatementID(601), StudentID: "S2", Verb: datasets.VerbVoided,
		ObjectID: StatementID(9999), Timestamp: day(30, 0)}
	_, err = st.Ingest(ctx(), &datasets.Dataset{Statements: []datasets.Statement{void}})
	wantRowError(t, err, "usage.jsonl", 1, "object.id")
}

func (s suite) rejectsDuplicateIDInBatch(t *testing.T) {
	st := s.open(t)
	f := Fixture()
	f.Students = append(f.Students, f.Students[1]) // identical, but twice in one batch
	_, err := st.Ingest(ctx(), f)
	wantRowError(t, err, "students.csv", 8, "student_id")

	f = Fixture()
	f.Statements = append(f.Statements, f.Statements[0])
	_, err = st.Ingest(ctx(), f)
	wantRowError(t, err, "usage.jsonl", len(f.Statements), "id")
}

func (s suite) rejectsOutOfRangeValues(t *testing.T) {
	cases := []struct {
		name        string
		edit        func(d *datasets.Dataset)
		file, field string
		line        int
	}{
		{"ScoreAboveOutOf", func(d *datasets.Dataset) { d.Grades[1].Score = 21 }, "grades.csv", "score", 3},
		{"NegativeScore", func(d *datasets.Dataset) { d.Grades[0].Score = -1 }, "grades.csv", "score", 2},
		{"UnknownGradeStatus", func(d *datasets.Dataset) { d.Grades[2].Status = "malade" }, "grades.csv", "status", 4},
		{"UnknownLevel", func(d *datasets.Dataset) { d.Students[3].Level = "CM2" }, "students.csv", "level", 5},
		{"AbsenceEndsBeforeStart", func(d *datasets.Dataset) { d.Absences[0].End = d.Absences[0].Start.Add(-time.Hour) }, "absences.csv", "end", 2},
		{"ScaledAboveOne", func(d *datasets.Dataset) { v := 1.5; d.Statements[1].Scaled = &v }, "usage.jsonl", "result.score.scaled", 2},
		{"EmptyResourceID", func(d *datasets.Dataset) { d.Resources[4].ID = "" }, "resources.csv", "resource_id", 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := s.open(t)
			f := Fixture()
			tc.edit(f)
			_, err := st.Ingest(ctx(), f)
			wantRowError(t, err, tc.file, tc.line, tc.field)
		})
	}
}

func (s suite) badBatchLeavesStoreUnchanged(t *testing.T) {
	st := s.loaded(t)
	before, err := st.Export(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	f := Fixture()
	s1 := f.Students[0]
	s1.Level, s1.ClassID = "5e", Class5B
	newGrade := f.Grades[0]
	newGrade.ID, newGrade.Score = "G-NEW", 3
	newRes := f.Resources[0]
	newRes.ID = "R-NEW"
	batch := &datasets.Dataset{
		Resources: []datasets.Resource{newRes},
		Students:  []datasets.Student{s1},
		Grades:    []datasets.Grade{newGrade},
		Absences:  []datasets.Absence{{ID: "A-BAD", StudentID: "S404", Start: day(40, 0), End: day(40, 1)}},
	}
	if _, err := st.Ingest(ctx(), batch); err == nil {
		t.Fatal("Ingest of a batch with an unknown student succeeded")
	}
	after, err := st.Export(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "S1 after a rejected batch", after, before)
	_, res, err := st.Catalogue(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(f.Resources) {
		t.Fatalf("catalogue has %d resources after a rejected batch, want %d", len(res), len(f.Resources))
	}

	// The same batch without its bad row goes in, and says what it changed.
	batch.Absences = nil
	ch := mustIngest(t, st, batch)
	same(t, "Changed", ch, recommender.Changed{Students: []string{"S1"}, Catalogue: true})
}

func (s suite) movedGradeIsConflict(t *testing.T) {
	st := s.loaded(t)
	f := Fixture()
	g := f.Grades[:2:2]
	g[1].StudentID = "S3" // G02 belongs to S2
	_, err := st.Ingest(ctx(), &datasets.Dataset{Grades: g})
	wantIs(t, err, recommender.ErrConflict)
	if !strings.Contains(err.Error(), "grades.csv:3") {
		t.Fatalf("conflict %q does not name grades.csv:3", err)
	}
	a := f.Absences[0]
	a.StudentID = "S1"
	_, err = st.Ingest(ctx(), &datasets.Dataset{Absences: []datasets.Absence{a}})
	wantIs(t, err, recommender.ErrConflict)
}

func (s suite) updatedRowsReportTheirPupils(t *testing.T) {
	st := s.loaded(t)
	f := Fixture()
	f.Grades[1].Score = 9.5        // S2
	f.Absences[2].Justified = true // S5
	f.Students[3].Consent = false  // S4
	ch := mustIngest(t, st, f)
	same(t, "Changed", ch, recommender.Changed{Students: []string{"S2", "S4", "S5"}})
	ev, err := st.PupilEvents(ctx(), "S2")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range ev.Grades {
		if g.ID == "G02" && g.Score != 9.5 {
			t.Fatalf("G02 score = %v after upsert, want 9.5", g.Score)
		}
	}
}

func (s suite) lessonChangeReportsClassAndItsPupils(t *testing.T) {
	st := s.loaded(t)
	l := Fixture().Lessons[3] // class 5B
	l.Competencies = []string{"M5-EQ", "M6-NUM"}
	ch := mustIngest(t, st, &datasets.Dataset{Lessons: []datasets.Lesson{l}})
	same(t, "Changed", ch, recommender.Changed{Students: []string{"S4", "S5", "S6"}, Classes: []string{Class5B}})

	// A lesson moved to another class changes both timetables.
	l = Fixture().Lessons[0] // class 6A
	l.ClassID = Class5B
	ch = mustIngest(t, st, &datasets.Dataset{Lessons: []datasets.Lesson{l}})
	same(t, "Changed", ch, recommender.Changed{Students: []string{"S1", "S2", "S3", "S4", "S5", "S6"}, Classes: []string{Class5B, Class6A}})
	ev, err := st.PupilEvents(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Lessons) != 2 {
		t.Fatalf("S1 has %d lessons after L1 moved away, want 2", len(ev.Lessons))
	}

	r := Fixture().Resources[0]
	r.Title = "Nouveau titre"
	ch = mustIngest(t, st, &datasets.Dataset{Resources: []datasets.Resource{r}})
	same(t, "Changed", ch, recommender.Changed{Catalogue: true})
}

func (s suite) statementSeenTwiceStoredOnce(t *testing.T) {
	st := s.loaded(t)
	f := Fixture()
	// The same statement again, its timestamp written in another zone: the same instant.
	again := f.Statements[0]
	again.Timestamp = again.Timestamp.In(time.FixedZone("CET", 3600))
	ch := mustIngest(t, st, &datasets.Dataset{Statements: []datasets.Statement{again}})
	same(t, "Changed", ch, recommender.Changed{})

	fresh := datasets.Statement{ID: StatementID(700), StudentID: "S3", Verb: datasets.VerbExperienced,
		ObjectID: "R05", Timestamp: day(20, 0)}
	mustIngest(t, st, &datasets.Dataset{Statements: []datasets.Statement{fresh}})
	ch = mustIngest(t, st, &datasets.Dataset{Statements: []datasets.Statement{fresh}})
	same(t, "Changed on the second sending", ch, recommender.Changed{})
	ev, err := st.PupilEvents(ctx(), "S3")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "S3 statements", ev.Statements, []datasets.Statement{fresh})
}

func (s suite) conflictingStatementIsConflict(t *testing.T) {
	st := s.loaded(t)
	f := Fixture()
	changed := f.Statements[1]
	changed.Verb = datasets.VerbFailed
	_, err := st.Ingest(ctx(), &datasets.Dataset{Statements: []datasets.Statement{f.Statements[0], changed}})
	wantIs(t, err, recommender.ErrConflict)
	if !strings.Contains(err.Error(), "usage.jsonl:2") {
		t.Fatalf("conflict %q does not name usage.jsonl:2", err)
	}
	ev, err := st.PupilEvents(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ev.Statements {
		if x.ID == changed.ID && x.Verb != f.Statements[1].Verb {
			t.Fatalf("conflicting statement overwrote the stored one: verb %q", x.Verb)
		}
	}
}

func (s suite) voidedStatementHidden(t *testing.T) {
	st := s.loaded(t)
	ids := func(id string) []string {
		t.Helper()
		ev, err := st.PupilEvents(ctx(), id)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ev.Statements {
			out = append(out, x.ID)
		}
		return out
	}
	same(t, "S1 statements", ids("S1"), []string{StatementID(1), StatementID(2)})

	// Voiding in a later batch hides the target and reports its pupil.
	void := datasets.Statement{ID: StatementID(800), StudentID: "S1", Verb: datasets.VerbVoided,
		ObjectID: StatementID(2), Timestamp: day(30, 0)}
	ch := mustIngest(t, st, &datasets.Dataset{Statements: []datasets.Statement{void}})
	same(t, "Changed", ch, recommender.Changed{Students: []string{"S1"}})
	same(t, "S1 statements", ids("S1"), []string{StatementID(1)})

	// Voided and voiding statements are still held (export), only hidden from features.
	ex, err := st.Export(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Statements) != 5 {
		t.Fatalf("export holds %d statements of S1, want 5 (incl. voided and voiding)", len(ex.Statements))
	}
}

func (s suite) catalogueSortedByID(t *testing.T) {
	st := s.loaded(t)
	comps, res, err := st.Catalogue(ctx())
	if err != nil {
		t.Fatal(err)
	}
	f := Fixture()
	wantC := append([]datasets.Competency(nil), f.Competencies...)
	sortByID(wantC, func(c datasets.Competency) string { return c.ID })
	same(t, "competencies", comps, wantC)
	same(t, "resources", res, f.Resources) // R01..R20 already sorted
}
