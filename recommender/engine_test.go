package recommender_test

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

const masteryThreshold = 0.6 // the engine's default

func reasonOf(it recommender.Item, code string) (recommender.Reason, bool) {
	for _, r := range it.Reasons {
		if r.Code == code {
			return r, true
		}
	}
	return recommender.Reason{}, false
}

func recommend(tb testing.TB, e *recommender.Engine, r recommender.Request) recommender.Recommendations {
	tb.Helper()
	got, err := e.Recommend(context.Background(), r)
	if err != nil {
		tb.Fatalf("Recommend(%+v): %v", r, err)
	}
	return got
}

func TestRecommend(t *testing.T) {
	ds := academie(20, 12)
	e, st := newEngine(t, ds)
	ctx := context.Background()

	t.Run("FailedFractionsGetsFractionsAtRightDifficultyWithGradeEvidence", func(t *testing.T) {
		got := recommend(t, e, recommender.Request{StudentID: pupilFrac, K: 5, Subject: "MATHS"})
		if got.Source != recommender.SourceComputed {
			t.Fatalf("source %q, want computed", got.Source)
		}
		if len(got.Items) == 0 {
			t.Fatal("no items")
		}
		top := got.Items[0]
		if compOf(t, ds, top.ResourceID) != "M-FRAC" {
			t.Fatalf("top item %s serves %v, want fractions; items %+v", top.ResourceID, top.Competencies, got.Items)
		}
		if top.PSuccess < 0.5 || top.PSuccess > 0.85 {
			t.Errorf("top item predicted success %.2f, want within the band around 0.7", top.PSuccess)
		}
		weak, ok := reasonOf(top, recommender.ReasonWeakCompetency)
		if !ok {
			t.Fatalf("no weak_competency reason in %+v", top.Reasons)
		}
		if !regexp.MustCompile(`Fractions \(moyenne \d+(,\d)?/20 sur 3 évaluations\)`).MatchString(weak.Message) {
			t.Errorf("weak_competency %q lacks the grade evidence", weak.Message)
		}
		if rd, ok := reasonOf(top, recommender.ReasonRightDiff); !ok || !regexp.MustCompile(`réussite prévue \d+ %`).MatchString(rd.Message) {
			t.Errorf("right_difficulty reason missing or malformed: %+v", top.Reasons)
		}
	})

	t.Run("EnglishWhenAsked", func(t *testing.T) {
		got := recommend(t, e, recommender.Request{StudentID: pupilFrac, K: 3, Subject: "MATHS", Lang: "en"})
		weak, ok := reasonOf(got.Items[0], recommender.ReasonWeakCompetency)
		if !ok || !strings.Contains(weak.Message, "over 3 assessments") {
			t.Errorf("English weak_competency missing: %+v", got.Items[0].Reasons)
		}
	})

	t.Run("AbsentPupilGetsCatchUpExplainedWithDate", func(t *testing.T) {
		got := recommend(t, e, recommender.Request{StudentID: pupilAbsent, K: 5})
		found := false
		for _, it := range got.Items {
			if r, ok := reasonOf(it, recommender.ReasonMissedLesson); ok {
				found = true
				if !strings.Contains(r.Message, "12 mars") || !strings.Contains(it.Competencies[0], "M-FRAC") {
					t.Errorf("catch-up item %s: %q, want the fractions lesson of 12 mars", it.ResourceID, r.Message)
				}
			}
		}
		if !found {
			t.Errorf("no missed_lesson reason in %+v", got.Items)
		}
	})

	t.Run("NoRecommendationViolatesAPrerequisite", func(t *testing.T) {
		ids, err := st.StudentIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cat, err := datasets.NewCatalogue(ds.Competencies, ds.Resources)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, id := range ids {
			got := recommend(t, e, recommender.Request{StudentID: id, K: 10})
			if got.Source != recommender.SourceComputed {
				continue
			}
			if len(got.Items) != 10 {
				t.Errorf("%s got %d items, want a full list of 10", id, len(got.Items))
			}
			prof, err := st.Profile(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range got.Items {
				for _, c := range it.Competencies {
					k, _ := cat.Competency(c)
					for _, q := range k.Prerequisites {
						if violates(prof, q) {
							t.Errorf("%s got %s (%s) but P(mastery) of prerequisite %s is %.2f", id, it.ResourceID, c, q, prof.Competencies[q].PMastery)
						}
					}
				}
				checked++
			}
		}
		if checked == 0 {
			t.Fatal("nothing checked")
		}
		// The gap pupil is the case that matters: fractions must be held back.
		got := recommend(t, e, recommender.Request{StudentID: pupilGap, K: 10, Subject: "MATHS"})
		for _, it := range got.Items {
			if c := it.Competencies[0]; c == "M-EQ" || c == "M-PROP" {
				t.Errorf("gap pupil got %s on %s whose prerequisites are not mastered", it.ResourceID, c)
			}
		}
	})

	t.Run("IdenticalCallsGiveIdenticalAnswers", func(t *testing.T) {
		for _, id := range []string{pupilFrac, pupilAbsent, pupilGap, pupilNoCons, pupilNew} {
			r := recommender.Request{StudentID: id, K: 10}
			a, b := recommend(t, e, r), recommend(t, e, r)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s: two calls differ:\n%+v\n%+v", id, a, b)
			}
		}
	})

	t.Run("ItemsAreDiverseAcrossCompetenciesOrTypes", func(t *testing.T) {
		got := recommend(t, e, recommender.Request{StudentID: pupilFrac, K: 6, Subject: "MATHS"})
		seen := map[string]bool{}
		for _, it := range got.Items {
			key := it.Competencies[0] + "/" + it.Type
			if seen[key] {
				t.Errorf("two items share competency and type %s: %+v", key, got.Items)
			}
			seen[key] = true
		}
	})

	t.Run("NewPupilGetsFallback", func(t *testing.T) {
		got := recommend(t, e, recommender.Request{StudentID: pupilNew, K: 5, Subject: "MATHS"})
		if got.Source != recommender.SourceFallback || len(got.Items) != 5 {
			t.Fatalf("source %q with %d items, want 5 fallback items", got.Source, len(got.Items))
		}
		for _, it := range got.Items {
			if it.Subject != "MATHS" || len(it.Reasons) == 0 {
				t.Errorf("fallback item %+v: want MATHS with a reason", it)
			}
		}
	})

	t.Run("RejectsBadRequests", func(t *testing.T) {
		tests := []struct {
			name string
			req  recommender.Request
			want error
		}{
			{"NegativeK", recommender.Request{StudentID: pupilFrac, K: -1}, recommender.ErrInvalid},
			{"HugeK", recommender.Request{StudentID: pupilFrac, K: recommender.MaxK + 1}, recommender.ErrInvalid},
			{"UnknownSubject", recommender.Request{StudentID: pupilFrac, K: 3, Subject: "ASTRO"}, recommender.ErrInvalid},
			{"UnknownPupil", recommender.Request{StudentID: "nobody", K: 3}, recommender.ErrNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := e.Recommend(ctx, tc.req); !errors.Is(err, tc.want) {
					t.Errorf("err %v, want %v", err, tc.want)
				}
			})
		}
	})
}

// violates tells whether a prerequisite is known not to be mastered.
func violates(p features.Profile, q string) bool {
	cs, ok := p.Competencies[q]
	return ok && (cs.N > 0 || cs.GradeN > 0) && cs.PMastery < masteryThreshold
}

func TestTeacherDecisions(t *testing.T) {
	ds := academie(10, 12)
	e, _ := newEngine(t, ds)
	ctx := context.Background()
	before := recommend(t, e, recommender.Request{StudentID: pupilFrac, K: 10, Subject: "MATHS"})
	rejected := before.Items[0].ResourceID
	pinned := "R-M-GEO-011" // far too hard, and no need on geometry: never chosen unpinned
	for _, it := range before.Items {
		if it.ResourceID == pinned {
			t.Fatalf("test premise: %s already recommended", pinned)
		}
	}
	for _, d := range []recommender.Decision{
		{StudentID: pupilFrac, ResourceID: rejected, Decision: recommender.DecisionReject, TeacherID: "T1", Comment: "déjà fait en classe"},
		{StudentID: pupilFrac, ResourceID: pinned, Decision: recommender.DecisionPin, TeacherID: "T1"},
	} {
		if err := e.Decide(ctx, d); err != nil {
			t.Fatalf("Decide(%+v): %v", d, err)
		}
	}

	t.Run("RejectedNeverComesBack", func(t *testing.T) {
		for _, k := range []int{1, 10, recommender.MaxK} {
			for _, it := range recommend(t, e, recommender.Request{StudentID: pupilFrac, K: k}).Items {
				if it.ResourceID == rejected {
					t.Errorf("k=%d: rejected %s recommended", k, rejected)
				}
			}
		}
		p, err := e.Path(ctx, recommender.PathRequest{StudentID: pupilFrac, Subject: "MATHS", Length: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Steps {
			if s.ResourceID == rejected || contains(s.Alternatives, rejected) {
				t.Errorf("rejected %s in path step %+v", rejected, s)
			}
		}
	})

	t.Run("PinnedAlwaysAppears", func(t *testing.T) {
		got := recommend(t, e, recommender.Request{StudentID: pupilFrac, K: 1, Subject: "MATHS"})
		if len(got.Items) != 1 || got.Items[0].ResourceID != pinned {
			t.Fatalf("k=1 gave %+v, want the pinned %s", got.Items, pinned)
		}
		if _, ok := reasonOf(got.Items[0], recommender.ReasonTeacherPin); !ok {
			t.Errorf("pinned item without teacher_pin reason: %+v", got.Items[0].Reasons)
		}
		p, err := e.Path(ctx, recommender.PathRequest{StudentID: pupilFrac, Subject: "MATHS", Length: 3})
		if err != nil {
			t.Fatal(err)
		}
		var step *recommender.Step
		for i := range p.Steps {
			if p.Steps[i].ResourceID == pinned {
				step = &p.Steps[i]
			}
		}
		if step == nil {
			t.Fatalf("pinned %s missing from path %+v", pinned, p.Steps)
		}
		if step.Status != recommender.StatusPinned || step.Decision == nil || step.Decision.TeacherID != "T1" {
			t.Errorf("pinned step %+v: want status pinned with the decision", step)
		}
	})

	t.Run("ApprovedShownAsApproved", func(t *testing.T) {
		p, err := e.Path(ctx, recommender.PathRequest{StudentID: pupilFrac, Subject: "MATHS", Length: 5})
		if err != nil {
			t.Fatal(err)
		}
		target := ""
		for _, s := range p.Steps {
			if s.Status == recommender.StatusSuggested {
				target = s.ResourceID
				break
			}
		}
		if target == "" {
			t.Fatalf("no suggested step to approve in %+v", p.Steps)
		}
		if err := e.Decide(ctx, recommender.Decision{StudentID: pupilFrac, ResourceID: target, Decision: recommender.DecisionApprove, TeacherID: "T2", Comment: "oui"}); err != nil {
			t.Fatal(err)
		}
		p, err = e.Path(ctx, recommender.PathRequest{StudentID: pupilFrac, Subject: "MATHS", Length: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Steps {
			if s.ResourceID == target {
				if s.Status != recommender.StatusApproved || s.Decision == nil || s.Decision.Comment != "oui" {
					t.Errorf("approved step %+v", s)
				}
				return
			}
		}
		t.Errorf("approved %s left the path %+v", target, p.Steps)
	})

	t.Run("RejectsBadDecisions", func(t *testing.T) {
		tests := []struct {
			name string
			d    recommender.Decision
			want error
		}{
			{"UnknownDecision", recommender.Decision{StudentID: pupilFrac, ResourceID: pinned, Decision: "maybe", TeacherID: "T1"}, recommender.ErrInvalid},
			{"NoTeacher", recommender.Decision{StudentID: pupilFrac, ResourceID: pinned, Decision: "pin"}, recommender.ErrInvalid},
			{"UnknownResource", recommender.Decision{StudentID: pupilFrac, ResourceID: "R-NOPE", Decision: "pin", TeacherID: "T1"}, recommender.ErrNotFound},
			{"UnknownPupil", recommender.Decision{StudentID: "nobody", ResourceID: pinned, Decision: "pin", TeacherID: "T1"}, recommender.ErrNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if err := e.Decide(ctx, tc.d); !errors.Is(err, tc.want) {
					t.Errorf("err %v, want %v", err, tc.want)
				}
			})
		}
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestWithoutConsentNoPersonalTableIsRead(t *testing.T) {
	ds := academie(5, 8)
	e0, st := newEngine(t, ds)
	_ = e0
	g := &guardStore{Store: st, tb: t}
	e, err := recommender.New(context.Background(), g, fixedConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g.armed.Store(true)
	defer g.armed.Store(false)

	rec, err := e.Recommend(ctx, recommender.Request{StudentID: pupilNoCons, K: 5, Subject: "MATHS"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Source != recommender.SourceFallback || len(rec.Items) == 0 {
		t.Errorf("source %q, %d items: want non-empty fallback", rec.Source, len(rec.Items))
	}
	for _, it := range rec.Items {
		for _, r := range it.Reasons {
			if r.Code == recommender.ReasonWeakCompetency || r.Code == recommender.ReasonMissedLesson {
				t.Errorf("fallback item %s carries a personal reason %q", it.ResourceID, r.Code)
			}
		}
	}
	p, err := e.Path(ctx, recommender.PathRequest{StudentID: pupilNoCons, Subject: "MATHS", Length: 4})
	if err != nil {
		t.Fatal(err)
	}
	if p.Source != recommender.SourceFallback || len(p.Steps) == 0 {
		t.Errorf("path source %q with %d steps: want a non-empty fallback", p.Source, len(p.Steps))
	}
}
