package recommender_test

import (
	"context"
	"testing"

	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender/offline"
)

// TestBeatsPopularityAndRandomOnSyntheticAcademie is a sanity check of the ranking on a
// synthetic académie, through the offline evaluation's own split, NDCG and baselines
// (offline.Evaluate; `parcours eval recommend` adds the learning gain and the report):
// NDCG@10 of the resources each pupil then first succeeded on must beat popularity and
// random.
func TestBeatsPopularityAndRandomOnSyntheticAcademie(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and fits a 600-pupil académie")
	}
	ds, _, err := synth.GenerateDataset(synth.Config{Students: 600, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := offline.Evaluate(context.Background(), ds, nil, offline.Config{K: 10, Seed: 1, Resamples: 200})
	if err != nil {
		t.Fatal(err)
	}
	ndcg := func(name string) float64 {
		p, ok := rep.Policies[name]
		if !ok {
			t.Fatalf("no policy %q in the report (have %v)", name, rep.Order)
		}
		return p.NDCG
	}
	engine, popular, random := ndcg("parcours"), ndcg("popularity"), ndcg("random")
	t.Logf("NDCG@10 over %d pupils: parcours %.4f, popularity %.4f, random %.4f", rep.EvaluatedPupils, engine, popular, random)
	if engine <= popular || engine <= random {
		t.Errorf("parcours %.4f does not beat popularity %.4f and random %.4f", engine, popular, random)
	}
}
