package offline

import (
	"math"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

func near(t testing.TB, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-4 {
		t.Errorf("%s = %.6f, want %.6f", name, got, want)
	}
}

func set(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func TestRankingMetricsMatchHandComputedValues(t *testing.T) {
	list := []string{"a", "b", "c", "d"}
	truth := set("b", "d", "x")
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		// DCG@3 = 1/log2(3); IDCG@3 = 1 + 1/log2(3) + 1/2.
		{"ndcg@3 one hit at rank 2", NDCG(list, truth, 3), 0.630930 / 2.130930},
		// DCG@4 = 1/log2(3) + 1/log2(5); the ideal list still holds 3 relevant items.
		{"ndcg@4 hits at ranks 2 and 4", NDCG(list, truth, 4), (0.630930 + 0.430677) / 2.130930},
		{"ndcg@1 miss is zero", NDCG(list, truth, 1), 0},
		{"ndcg with all relevant on top is one", NDCG([]string{"b", "d", "x"}, truth, 3), 1},
		{"ndcg empty truth is zero", NDCG(list, nil, 3), 0},
		{"recall@3 finds one of three", Recall(list, truth, 3), 1.0 / 3},
		{"recall@4 finds two of three", Recall(list, truth, 4), 2.0 / 3},
		{"recall with k beyond the list", Recall(list, truth, 50), 2.0 / 3},
		{"hit rate@1 misses", HitRate(list, truth, 1), 0},
		{"hit rate@2 hits", HitRate(list, truth, 2), 1},
		{"mrr first hit at rank 2", MRR(list, truth, 10), 0.5},
		{"mrr no hit within k", MRR(list, truth, 1), 0},
		{"coverage 3 of 10 resources", Coverage([][]string{{"a", "b"}, {"b", "c"}}, 10), 0.3},
		// a: −log2(2/4) = 1; b: −log2(4/4) = 0.
		{"novelty mean self-information", Novelty([]string{"a", "b"}, map[string]int{"a": 1, "b": 3}, 3), 0.5},
		{"novelty of an unused item", Novelty([]string{"z"}, nil, 3), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { near(t, tc.name, tc.got, tc.want) })
	}
}

func TestDiversityIsMeanPairwiseJaccardDistance(t *testing.T) {
	comps := map[string][]string{"a": {"x"}, "b": {"x", "y"}, "c": {"z"}}
	dist := func(a, b string) float64 { return jaccardDistance(comps[a], comps[b]) }
	// d(a,b) = 1 − 1/2, d(a,c) = 1, d(b,c) = 1.
	near(t, "diversity", Diversity([]string{"a", "b", "c"}, dist), 2.5/3)
	near(t, "one item", Diversity([]string{"a"}, dist), 0)
	near(t, "same competencies", Diversity([]string{"a", "a"}, dist), 0)
}

func TestBootstrapIsSeededAndBracketsTheMean(t *testing.T) {
	xs := []float64{0, 1, 0, 1, 1, 0, 1, 0, 0, 1}
	a, b := Bootstrap(xs, 2000, 0.95, 7), Bootstrap(xs, 2000, 0.95, 7)
	if a != b {
		t.Errorf("same seed, different intervals: %+v vs %+v", a, b)
	}
	if a.Mean != 0.5 || a.Lo >= 0.5 || a.Hi <= 0.5 || a.Lo < 0 || a.Hi > 1 || a.N != 10 {
		t.Errorf("interval %+v does not bracket the mean 0.5 within [0,1]", a)
	}
	// The standard error is 0.5/√10 ≈ 0.158: a 95% interval is about ±0.31.
	if w := a.Hi - a.Lo; w < 0.45 || w > 0.75 {
		t.Errorf("interval width %.3f, want about 0.62", w)
	}
	c := Bootstrap([]float64{0.3, 0.3, 0.3}, 100, 0.95, 1)
	if c.Lo != 0.3 || c.Hi != 0.3 {
		t.Errorf("constant sample interval %+v, want [0.3, 0.3]", c)
	}
	if e := Bootstrap(nil, 100, 0.95, 1); e.N != 0 || e.Mean != 0 {
		t.Errorf("empty sample %+v", e)
	}
}

func TestViolationsCountItemsWhosePrerequisiteIsNotMastered(t *testing.T) {
	cat, err := datasets.NewCatalogue([]datasets.Competency{
		{ID: "NUM", Subject: "MATHS", Level: "6e"},
		{ID: "FRAC", Subject: "MATHS", Level: "6e", Prerequisites: []string{"NUM"}},
		{ID: "GEO", Subject: "MATHS", Level: "6e", Prerequisites: []string{"UNSEEN"}},
		{ID: "UNSEEN", Subject: "MATHS", Level: "6e"},
	}, []datasets.Resource{
		{ID: "R-NUM", Subject: "MATHS", Level: "6e", Type: "quiz", Competencies: []string{"NUM"}},
		{ID: "R-FRAC", Subject: "MATHS", Level: "6e", Type: "quiz", Competencies: []string{"FRAC"}},
		{ID: "R-GEO", Subject: "MATHS", Level: "6e", Type: "quiz", Competencies: []string{"GEO"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	weak := &features.Profile{Competencies: map[string]features.CompetencyState{"NUM": {N: 3, PMastery: 0.2}}}
	strong := &features.Profile{Competencies: map[string]features.CompetencyState{"NUM": {N: 3, PMastery: 0.9}}}
	list := []string{"R-NUM", "R-FRAC", "R-GEO"}
	tests := []struct {
		name string
		prof *features.Profile
		want int
	}{
		{"fractions before numbers are mastered is one violation", weak, 1},
		{"mastered prerequisite is none", strong, 0},
		{"no profile counts none", nil, 0},
		// UNSEEN has no evidence: absence of evidence is not a gap (as the engine gates).
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &scorer{cat: cat, profile: func(string) *features.Profile { return tc.prof }}
			if got := s.violations("P", list); got != tc.want {
				t.Errorf("violations = %d, want %d", got, tc.want)
			}
		})
	}
}
