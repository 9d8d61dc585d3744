package recommender_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

func isStudyType(t string) bool { return t == datasets.ResourceVideo || t == datasets.ResourceSheet }

func hasReason(it recommender.Item, codes ...string) bool {
	for _, r := range it.Reasons {
		for _, c := range codes {
			if r.Code == c {
				return true
			}
		}
	}
	return false
}

// TestPracticeSlotsAreNotSpentOnStudyMaterial: videos and sheets take at most a fifth of
// a list, and only where the pupil needs teaching (a missed lesson or low mastery, which
// their reasons then say).
func TestPracticeSlotsAreNotSpentOnStudyMaterial(t *testing.T) {
	ds := academie(20, 12)
	e, _ := newEngine(t, ds)
	ctx := context.Background()
	ids := []string{pupilFrac, pupilAbsent, pupilGap}
	for i := range 20 {
		ids = append(ids, fmt.Sprintf("P-%03d", i))
	}
	for _, k := range []int{5, 10} {
		for _, id := range ids {
			t.Run(fmt.Sprintf("%s/k=%d", id, k), func(t *testing.T) {
				rec, err := e.Recommend(ctx, recommender.Request{StudentID: id, K: k})
				if err != nil {
					t.Fatal(err)
				}
				study := 0
				for _, it := range rec.Items {
					if !isStudyType(it.Type) {
						continue
					}
					study++
					if !hasReason(it, recommender.ReasonMissedLesson, recommender.ReasonWeakCompetency, recommender.ReasonTeacherPin, recommender.ReasonTeacherApprove) {
						t.Errorf("%s (%s) listed without a teaching need: %+v", it.ResourceID, it.Type, it.Reasons)
					}
				}
				if limit := max(1, k/5); study > limit {
					t.Errorf("%d study items in %d, at most %d", study, len(rec.Items), limit)
				}
			})
		}
	}
}

// TestChapterReasonsFollowTheTimetable: the fractions lesson of 12 March makes M-FRAC the
// chapter under way for the class, and an item on it says so, in French and in English.
func TestChapterReasonsFollowTheTimetable(t *testing.T) {
	ds := academie(20, 12)
	e, _ := newEngine(t, ds)
	ctx := context.Background()
	for _, tc := range []struct{ lang, want string }{
		{"fr", "Chapitre en cours en classe : Fractions."},
		{"en-GB", "The chapter under way in class: Fractions."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			found := false
			for i := range 20 {
				rec, err := e.Recommend(ctx, recommender.Request{StudentID: fmt.Sprintf("P-%03d", i), K: 10, Lang: tc.lang})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range rec.Items {
					for _, r := range it.Reasons {
						if r.Code != recommender.ReasonChapter {
							continue
						}
						if r.Message != tc.want {
							t.Errorf("chapter reason %q, want %q", r.Message, tc.want)
						}
						if compOf(t, ds, it.ResourceID) != "M-FRAC" {
							t.Errorf("%s is not on the chapter under way but says %q", it.ResourceID, r.Message)
						}
						found = true
					}
				}
			}
			if !found {
				t.Error("no item says it is on the chapter under way")
			}
		})
	}
}

// TestThompsonExploration: the exploring engine is reproducible for the same data, and
// explores: across pupils, its lists differ from the default engine's somewhere.
func TestThompsonExploration(t *testing.T) {
	ds := academie(20, 12)
	ctx := context.Background()
	st := newMemstore()
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Ingest(ctx, ds); err != nil {
		t.Fatal(err)
	}
	cfg := fixedConfig()
	plain, err := recommender.New(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Explore = recommender.ExploreThompson
	explore, err := recommender.New(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	list := func(e *recommender.Engine, id string) string {
		rec, err := e.Recommend(ctx, recommender.Request{StudentID: id, K: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range rec.Items {
			ids = append(ids, it.ResourceID)
		}
		return fmt.Sprint(ids)
	}
	differs := false
	for i := range 20 {
		id := fmt.Sprintf("P-%03d", i)
		a, b := list(explore, id), list(explore, id)
		if a != b {
			t.Errorf("%s: two answers on the same data differ:\n%s\n%s", id, a, b)
		}
		if a != list(plain, id) {
			differs = true
		}
	}
	if !differs {
		t.Error("Thompson sampling changed no pupil's list")
	}
	t.Run("RejectsAnUnknownStrategy", func(t *testing.T) {
		cfg.Explore = "greedy"
		if _, err := recommender.New(ctx, st, cfg); err == nil {
			t.Error("New accepted an unknown exploration strategy")
		}
	})
}

// hiddenCapabilities is a store that does not show its optional capabilities.
type hiddenCapabilities struct{ recommender.Store }

// TestNeighboursAreOptional: a store without the StudentSearcher capability still
// serves personalised lists, and no item claims a collaborative lift when the ranking
// did not weigh that evidence (hand-made benefit, NoReRanker).
func TestNeighboursAreOptional(t *testing.T) {
	ds := academie(20, 12)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		store func() recommender.Store
	}{
		{"WithTheCapability", newMemstore},
		{"WithoutTheCapability", func() recommender.Store { return hiddenCapabilities{newMemstore()} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.store()
			if _, err := st.Ingest(ctx, ds); err != nil {
				t.Fatal(err)
			}
			cfg := fixedConfig()
			cfg.NoReRanker = true
			cfg.Neighbours = true
			e, err := recommender.New(ctx, st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := e.Recommend(ctx, recommender.Request{StudentID: pupilFrac, K: 10})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Source != recommender.SourceComputed || len(rec.Items) == 0 {
				t.Fatalf("source %s with %d items, want a computed list", rec.Source, len(rec.Items))
			}
			for _, it := range rec.Items {
				if hasReason(it, recommender.ReasonNeighbours, recommender.ReasonUsedTogether) {
					t.Errorf("%s claims a collaborative lift the ranking did not weigh: %+v", it.ResourceID, it.Reasons)
				}
			}
		})
	}
}
