package recommender_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

func TestLifecycle(t *testing.T) {
	ds := academie(8, 8)
	e, st := newEngine(t, ds)
	ctx := context.Background()

	t.Run("RestartLoadsStateAndServesTheSameAnswers", func(t *testing.T) {
		again, err := recommender.New(ctx, st, fixedConfig())
		if err != nil {
			t.Fatal(err)
		}
		if again.ModelVersion() != e.ModelVersion() || e.ModelVersion() == "" {
			t.Errorf("model versions %q and %q", again.ModelVersion(), e.ModelVersion())
		}
		r := recommender.Request{StudentID: pupilFrac, K: 5}
		if a, b := recommend(t, e, r), recommend(t, again, r); !reflect.DeepEqual(a, b) {
			t.Errorf("restarted engine answers differently:\n%+v\n%+v", a, b)
		}
	})

	t.Run("IngestedGradePersonalisesANewPupil", func(t *testing.T) {
		if got := recommend(t, e, recommender.Request{StudentID: pupilNew, K: 3}); got.Source != recommender.SourceFallback {
			t.Fatalf("before any data: source %q, want fallback", got.Source)
		}
		batch := &datasets.Dataset{Grades: []datasets.Grade{
			{ID: "G-NEW-1", StudentID: pupilNew, Subject: "MATHS", Competencies: []string{"M-NUM"}, AssessmentID: "EV-NEW", Date: now.Add(-72 * time.Hour), Score: 4, OutOf: 20, Coefficient: 1},
		}}
		ch, err := e.Ingest(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.Students) != 1 || ch.Students[0] != pupilNew {
			t.Errorf("changed %+v, want the new pupil", ch)
		}
		got := recommend(t, e, recommender.Request{StudentID: pupilNew, K: 3, Subject: "MATHS"})
		if got.Source != recommender.SourceComputed || len(got.Items) == 0 || got.Items[0].Competencies[0] != "M-NUM" {
			t.Errorf("after a failed numbers grade: %+v, want computed numbers work", got)
		}
	})

	t.Run("NewResourceIsRecommendable", func(t *testing.T) {
		r := datasets.Resource{ID: "R-NEW", Title: "Fractions, la nouvelle", Subject: "MATHS", Level: "6e", Type: datasets.ResourceVideo,
			Competencies: []string{"M-FRAC"}, Difficulty: -1.5, DurationMin: 5}
		ch, err := e.Ingest(ctx, &datasets.Dataset{Resources: []datasets.Resource{r}})
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Catalogue {
			t.Fatalf("changed %+v, want the catalogue", ch)
		}
		// The refit runs outside the ingest (serve's Engine.Run), from the durable mark.
		if ran, err := e.RefitIfPending(ctx); err != nil || !ran {
			t.Fatalf("pending refit: ran %t, %v; want it run", ran, err)
		}
		if ran, err := e.RefitIfPending(ctx); err != nil || ran {
			t.Fatalf("second pending refit: ran %t, %v; want none left", ran, err)
		}
		if err := e.Decide(ctx, recommender.Decision{StudentID: pupilFrac, ResourceID: "R-NEW", Decision: recommender.DecisionPin, TeacherID: "T1"}); err != nil {
			t.Fatalf("deciding on the new resource: %v", err)
		}
		got := recommend(t, e, recommender.Request{StudentID: pupilFrac, K: 3})
		if len(got.Items) == 0 || got.Items[0].ResourceID != "R-NEW" {
			t.Errorf("pinned new resource missing: %+v", got.Items)
		}
	})

	t.Run("GrantingConsentPersonalises", func(t *testing.T) {
		if err := e.SetConsent(ctx, pupilNoCons, true); err != nil {
			t.Fatal(err)
		}
		if got := recommend(t, e, recommender.Request{StudentID: pupilNoCons, K: 3}); got.Source != recommender.SourceComputed {
			t.Errorf("source %q after consent, want computed", got.Source)
		}
		if err := e.SetConsent(ctx, pupilNoCons, false); err != nil {
			t.Fatal(err)
		}
		if got := recommend(t, e, recommender.Request{StudentID: pupilNoCons, K: 3}); got.Source != recommender.SourceFallback {
			t.Errorf("source %q after withdrawal, want fallback", got.Source)
		}
		prof, err := st.Profile(ctx, pupilNoCons)
		if err != nil {
			t.Fatal(err)
		}
		if len(prof.Competencies) != 0 || len(prof.Missed) != 0 {
			t.Errorf("profile kept after withdrawal: %+v", prof)
		}
		for _, v := range prof.Vector {
			if v != 0 {
				t.Fatalf("vector kept after withdrawal: %v", prof.Vector)
			}
		}
	})

	t.Run("ErasedPupilIsGone", func(t *testing.T) {
		if _, err := e.Export(ctx, pupilAbsent); err != nil {
			t.Fatalf("export before erasure: %v", err)
		}
		if err := e.Erase(ctx, pupilAbsent); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Recommend(ctx, recommender.Request{StudentID: pupilAbsent, K: 3}); !errors.Is(err, recommender.ErrNotFound) {
			t.Errorf("recommend after erasure: %v, want ErrNotFound", err)
		}
		if _, err := e.Export(ctx, pupilAbsent); !errors.Is(err, recommender.ErrNotFound) {
			t.Errorf("export after erasure: %v, want ErrNotFound", err)
		}
	})
}

// A school year served long after it ended (a data folder, an evaluation) is read on its
// own clock: missed lessons still call for catch-up.
func TestPastSchoolYearStillExplainsCatchUp(t *testing.T) {
	st := newMemstore()
	ctx := context.Background()
	if _, err := st.Ingest(ctx, academie(5, 8)); err != nil {
		t.Fatal(err)
	}
	cfg := fixedConfig()
	cfg.Now = func() time.Time { return now.AddDate(1, 2, 0) }
	e, err := recommender.New(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := recommend(t, e, recommender.Request{StudentID: pupilAbsent, K: 5})
	for _, it := range got.Items {
		if r, ok := reasonOf(it, recommender.ReasonMissedLesson); ok && strings.Contains(r.Message, "12 mars") {
			return
		}
	}
	t.Errorf("a year later, no catch-up for the lesson of 12 mars: %+v", got.Items)
}
