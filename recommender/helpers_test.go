package recommender_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

// now is the clock of every engine test: a week after the missed fractions lesson.
var now = time.Date(2026, time.March, 20, 12, 0, 0, 0, time.UTC)

// Ids the tests refer to by name.
const (
	classA      = "C6A" // 6e, every pupil but P-NOCONS consents
	school      = "SCH-1"
	pupilFrac   = "P-FRAC"   // good at numbers, failed fractions 3 times
	pupilAbsent = "P-ABS"    // away during the fractions lesson of 12 March
	pupilGap    = "P-GAP"    // failed numbers: fractions and equations are gated
	pupilNoCons = "P-NOCONS" // no consent
	pupilNew    = "P-NEW"    // consents, no data at all
	fracLesson  = "L-FRAC-2"
)

// académie builds a deterministic 6e class of named pupils plus nOthers generated ones,
// and a MATHS + FRANCAIS catalogue of perComp resources per competency.
func academie(nOthers, perComp int) *datasets.Dataset {
	rng := rand.New(rand.NewPCG(7, 11))
	ds := &datasets.Dataset{
		Competencies: []datasets.Competency{
			{ID: "M-NUM", Subject: "MATHS", Level: "6e", Label: "Nombres décimaux"},
			{ID: "M-FRAC", Subject: "MATHS", Level: "6e", Label: "Fractions", Prerequisites: []string{"M-NUM"}},
			{ID: "M-EQ", Subject: "MATHS", Level: "6e", Label: "Équations", Prerequisites: []string{"M-FRAC"}},
			{ID: "M-GEO", Subject: "MATHS", Level: "6e", Label: "Géométrie"},
			{ID: "M-PROP", Subject: "MATHS", Level: "5e", Label: "Proportionnalité", Prerequisites: []string{"M-FRAC"}},
			{ID: "F-LEC", Subject: "FRANCAIS", Level: "6e", Label: "Lecture"},
			{ID: "F-GRAM", Subject: "FRANCAIS", Level: "6e", Label: "Grammaire", Prerequisites: []string{"F-LEC"}},
		},
	}
	types := []string{datasets.ResourceVideo, datasets.ResourceExercise, datasets.ResourceQuiz, datasets.ResourceSheet}
	for _, c := range ds.Competencies {
		for j := range perComp {
			ds.Resources = append(ds.Resources, datasets.Resource{
				ID:           fmt.Sprintf("R-%s-%03d", c.ID, j),
				Title:        fmt.Sprintf("%s n°%d", c.Label, j+1),
				Subject:      c.Subject,
				Level:        c.Level,
				Type:         types[j%len(types)],
				Competencies: []string{c.ID},
				Difficulty:   -3 + 6*float64(j)/float64(max(1, perComp-1)),
				DurationMin:  10,
			})
		}
	}
	pupils := []string{pupilFrac, pupilAbsent, pupilGap, pupilNoCons, pupilNew}
	for i := range nOthers {
		pupils = append(pupils, fmt.Sprintf("P-%03d", i))
	}
	for _, id := range pupils {
		ds.Students = append(ds.Students, datasets.Student{ID: id, SchoolID: school, ClassID: classA, Level: "6e", Consent: id != pupilNoCons})
	}
	paris := time.FixedZone("CET", 3600)
	lesson := func(id, comp string, d time.Time) {
		ds.Lessons = append(ds.Lessons, datasets.Lesson{ID: id, ClassID: classA, Subject: "MATHS", Competencies: []string{comp}, Start: d, End: d.Add(time.Hour)})
	}
	lesson("L-NUM", "M-NUM", time.Date(2026, 2, 2, 9, 0, 0, 0, paris))
	lesson("L-FRAC-1", "M-FRAC", time.Date(2026, 2, 9, 9, 0, 0, 0, paris))
	lesson(fracLesson, "M-FRAC", time.Date(2026, 3, 12, 10, 0, 0, 0, paris))
	ds.Absences = append(ds.Absences, datasets.Absence{ID: "A-1", StudentID: pupilAbsent,
		Start: time.Date(2026, 3, 12, 8, 0, 0, 0, paris), End: time.Date(2026, 3, 12, 17, 0, 0, 0, paris)})

	gid := 0
	grade := func(sid, comp string, score float64, d time.Time) {
		gid++
		subject := "MATHS"
		if comp[0] == 'F' {
			subject = "FRANCAIS"
		}
		ds.Grades = append(ds.Grades, datasets.Grade{ID: fmt.Sprintf("G-%04d", gid), StudentID: sid, Subject: subject,
			Competencies: []string{comp}, AssessmentID: fmt.Sprintf("EV-%s-%d", comp, d.YearDay()), Date: d,
			Score: score, OutOf: 20, Coefficient: 1})
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 14, 0, 0, 0, time.UTC) }
	grade(pupilFrac, "M-NUM", 16, day(2, 3))
	grade(pupilFrac, "M-NUM", 17, day(2, 6))
	grade(pupilFrac, "M-FRAC", 6, day(2, 20))
	grade(pupilFrac, "M-FRAC", 8, day(3, 2))
	grade(pupilFrac, "M-FRAC", 8.5, day(3, 9))
	grade(pupilAbsent, "M-NUM", 15, day(2, 3))
	grade(pupilAbsent, "M-FRAC", 13, day(2, 20))
	grade(pupilGap, "M-NUM", 3, day(2, 3))
	grade(pupilGap, "M-NUM", 4.5, day(2, 6))
	grade(pupilGap, "M-FRAC", 5, day(2, 20))
	grade(pupilNoCons, "M-FRAC", 4, day(2, 20))

	sid := 0
	statement := func(pupil, rid string, ok bool, at time.Time) {
		sid++
		scaled := 0.2
		if ok {
			scaled = 0.9
		}
		ds.Statements = append(ds.Statements, datasets.Statement{ID: fmt.Sprintf("6f1c0b2e-0000-4000-8000-%012d", sid),
			StudentID: pupil, Verb: datasets.VerbAnswered, ObjectID: rid, Timestamp: at, Scaled: &scaled, Success: &ok})
	}
	// Generated pupils: an ability per competency drives their grades and their results.
	for i := range nOthers {
		id := fmt.Sprintf("P-%03d", i)
		for ci, c := range ds.Competencies {
			ability := rng.NormFloat64()
			for a := range 2 {
				score := math.Round(2*min(20, max(0, 10+4*ability+rng.NormFloat64()*2))) / 2
				grade(id, c.ID, score, day(2, 2+ci+7*a))
			}
			for u := range 3 {
				r := ds.Resources[rng.IntN(len(ds.Resources))]
				if r.Competencies[0] != c.ID {
					continue
				}
				p := 1 / (1 + math.Exp(r.Difficulty-ability))
				statement(id, r.ID, rng.Float64() < p, day(2, 10+ci+u))
			}
		}
	}
	return ds
}

// fixedConfig is the engine configuration of the tests: a fixed clock and Paris dates.
func fixedConfig() recommender.Config {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	return recommender.Config{Now: func() time.Time { return now }, Location: paris}
}

// newEngine loads ds into a fresh memstore and starts an engine on it.
func newEngine(tb testing.TB, ds *datasets.Dataset) (*recommender.Engine, recommender.Store) {
	tb.Helper()
	st := newMemstore()
	tb.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	if _, err := st.Ingest(ctx, ds); err != nil {
		tb.Fatalf("ingest: %v", err)
	}
	e, err := recommender.New(ctx, st, fixedConfig())
	if err != nil {
		tb.Fatalf("recommender.New: %v", err)
	}
	return e, st
}

// newMemstore opens the embedded store the engine tests run on.
func newMemstore() recommender.Store { return memstore.New() }

// guardStore fails the test when, armed, anything personal beyond the student row is read.
type guardStore struct {
	recommender.Store
	tb    testing.TB
	armed atomic.Bool
}

func (g *guardStore) trip(what string) {
	if g.armed.Load() {
		g.tb.Helper()
		g.tb.Errorf("personal table read without consent: %s", what)
	}
}

func (g *guardStore) PupilEvents(ctx context.Context, id string) (features.PupilEvents, error) {
	g.trip("PupilEvents")
	return g.Store.PupilEvents(ctx, id)
}

func (g *guardStore) Profile(ctx context.Context, id string) (features.Profile, error) {
	g.trip("Profile")
	return g.Store.Profile(ctx, id)
}

func (g *guardStore) Profiles(ctx context.Context, ids []string) ([]features.Profile, error) {
	g.trip("Profiles")
	return g.Store.Profiles(ctx, ids)
}

func (g *guardStore) Decisions(ctx context.Context, id string) ([]recommender.Decision, error) {
	g.trip("Decisions")
	return g.Store.Decisions(ctx, id)
}

func (g *guardStore) LogServed(ctx context.Context, id string, rids []string, at time.Time) error {
	g.trip("LogServed")
	return g.Store.LogServed(ctx, id, rids, at)
}

func (g *guardStore) Export(ctx context.Context, id string) (recommender.Export, error) {
	g.trip("Export")
	return g.Store.Export(ctx, id)
}

func (g *guardStore) SearchResources(ctx context.Context, q []float32, k int, f recommender.Filter) ([]recommender.Hit, error) {
	g.trip("SearchResources with a pupil vector")
	return g.Store.SearchResources(ctx, q, k, f)
}

// compOf returns the competency of a test resource (each serves exactly one).
func compOf(tb testing.TB, ds *datasets.Dataset, rid string) string {
	tb.Helper()
	for _, r := range ds.Resources {
		if r.ID == rid {
			return r.Competencies[0]
		}
	}
	tb.Fatalf("unknown resource %s", rid)
	return ""
}
