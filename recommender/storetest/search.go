package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// searchSet is a catalogue of resources with seeded random vectors, small enough (≤200
// rows) that an HNSW index still answers exactly.
type searchSet struct {
	res  []datasets.Resource
	ids  []string
	vecs [][]float32
	dim  int
}

// RandomVectors returns n seeded random vectors of dimension dim (same seed, same vectors).
func RandomVectors(seed uint64, n, dim int) [][]float32 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		out[i] = v
	}
	return out
}

// loadSearchSet ingests the fixture plus extra resources (180 in all) and their vectors.
func (s suite) loadSearchSet(t *testing.T, st recommender.Store) searchSet {
	t.Helper()
	mustIngest(t, st, Fixture())
	levels := []string{"6e", "5e", "4e"}
	var extra []datasets.Resource
	for i := 0; i < 160; i++ {
		subject, comp := "MATHS", "M6-NUM"
		if i%2 == 1 {
			subject, comp = "FRANCAIS", "F6-LEC"
		}
		extra = append(extra, datasets.Resource{
			ID: fmt.Sprintf("X%03d", i), Title: fmt.Sprintf("Extra %d", i), Subject: subject,
			Level: levels[i%3], Type: datasets.ResourceExercise, Competencies: []string{comp},
			Difficulty: 0, DurationMin: 10,
		})
	}
	mustIngest(t, st, &datasets.Dataset{Resources: extra})
	all := append(Fixture().Resources, extra...)
	set := searchSet{res: all, dim: 24}
	for _, r := range all {
		set.ids = append(set.ids, r.ID)
	}
	set.vecs = RandomVectors(7, len(all), set.dim)
	if err := st.PutResourceVectors(ctx(), 1, set.ids, set.vecs); err != nil {
		t.Fatalf("PutResourceVectors: %v", err)
	}
	return set
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// exact is the brute-force answer: every matching resource by descending score, ties by id.
func (set searchSet) exact(q []float32, k int, f recommender.Filter) []recommender.Hit {
	var hits []recommender.Hit
	for i, r := range set.res {
		if f.Subject != "" && r.Subject != f.Subject {
			continue
		}
		if len(f.Levels) > 0 && !slices.Contains(f.Levels, r.Level) {
			continue
		}
		if slices.Contains(f.Exclude, r.ID) {
			continue
		}
		hits = append(hits, recommender.Hit{ResourceID: r.ID, Score: float32(dot(q, set.vecs[i]))})
	}
	slices.SortFunc(hits, func(a, b recommender.Hit) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ResourceID, b.ResourceID)
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}

// checkHits compares a store's answer with the exact one. Scores must be the true inner
// products; exact stores must return the exact set in score order (float32 sums in
// another order may swap near-ties, so order is checked on scores, not ids).
func (s suite) checkHits(t *testing.T, set searchSet, q []float32, got, want []recommender.Hit) {
	t.Helper()
	const tol = 1e-3
	vec := make(map[string][]float32, len(set.ids))
	for i, id := range set.ids {
		vec[id] = set.vecs[i]
	}
	for _, h := range got {
		v, ok := vec[h.ResourceID]
		if !ok {
			t.Fatalf("hit %q is not a resource with a vector", h.ResourceID)
		}
		if d := math.Abs(float64(h.Score) - dot(q, v)); d > tol {
			t.Fatalf("hit %q score %v, its inner product is %v", h.ResourceID, h.Score, dot(q, v))
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].Score > got[i-1].Score+tol {
			t.Fatalf("hits not in descending score order at %d: %v", i, got)
		}
	}
	if s.opts.ApproximateSearch {
		if len(want) == 0 {
			if len(got) != 0 {
				t.Fatalf("got %d hits, want none", len(got))
			}
			return
		}
		found := 0
		for _, w := range want {
			if slices.ContainsFunc(got, func(h recommender.Hit) bool { return h.ResourceID == w.ResourceID }) {
				found++
			}
		}
		if r := float64(found) / float64(len(want)); r < s.opts.MinRecall {
			t.Fatalf("recall %.2f < %.2f: got %v, want %v", r, s.opts.MinRecall, got, want)
		}
		return
	}
	if len(got) != len(want) {
		t.Fatalf("got %d hits, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range want {
		if math.Abs(float64(got[i].Score-want[i].Score)) > tol {
			t.Fatalf("rank %d: score %v, want %v\n got %v\nwant %v", i, got[i].Score, want[i].Score, got, want)
		}
	}
}

func (s suite) searchIsExactOnSmallSet(t *testing.T) {
	st := s.open(t)
	set := s.loadSearchSet(t, st)
	for i, q := range RandomVectors(11, 5, set.dim) {
		for _, k := range []int{1, 10, 50} {
			t.Run(fmt.Sprintf("q%d/k%d", i, k), func(t *testing.T) {
				got, err := st.SearchResources(ctx(), q, k, recommender.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				s.checkHits(t, set, q, got, set.exact(q, k, recommender.Filter{}))
			})
		}
	}
}

func (s suite) searchHonoursFilters(t *testing.T) {
	st := s.open(t)
	set := s.loadSearchSet(t, st)
	q := RandomVectors(13, 1, set.dim)[0]
	top := set.exact(q, 3, recommender.Filter{Subject: "MATHS"})
	cases := []struct {
		name string
		k    int
		f    recommender.Filter
	}{
		{"SubjectOnly", 10, recommender.Filter{Subject: "FRANCAIS"}},
		{"OneLevel", 10, recommender.Filter{Levels: []string{"4e"}}},
		{"SubjectAndLevels", 10, recommender.Filter{Subject: "MATHS", Levels: []string{"5e", "6e"}}},
		{"ExcludeDropsTheBest", 5, recommender.Filter{Subject: "MATHS", Exclude: []string{top[0].ResourceID, top[2].ResourceID}}},
		{"KAboveMatchesReturnsAllMatches", 200, recommender.Filter{Subject: "FRANCAIS", Levels: []string{"6e"}}},
		{"UnknownSubjectFindsNothing", 10, recommender.Filter{Subject: "LATIN"}},
		{"UnknownLevelFindsNothing", 10, recommender.Filter{Levels: []string{"CM2"}}},
		{"ZeroKFindsNothing", 0, recommender.Filter{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.SearchResources(ctx(), q, tc.k, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			want := set.exact(q, tc.k, tc.f)
			byID := make(map[string]datasets.Resource, len(set.res))
			for _, r := range set.res {
				byID[r.ID] = r
			}
			for _, h := range got {
				r := byID[h.ResourceID]
				if (tc.f.Subject != "" && r.Subject != tc.f.Subject) ||
					(len(tc.f.Levels) > 0 && !slices.Contains(tc.f.Levels, r.Level)) ||
					slices.Contains(tc.f.Exclude, r.ID) {
					t.Fatalf("hit %q (%s %s) does not pass filter %+v", r.ID, r.Subject, r.Level, tc.f)
				}
			}
			s.checkHits(t, set, q, got, want)
		})
	}
}

func (s suite) searchBreaksTiesByID(t *testing.T) {
	if s.opts.ApproximateSearch {
		t.Skip("approximate search need not order ties")
	}
	st := s.loaded(t)
	ids := []string{"R07", "R03", "R05", "R01"}
	v := []float32{1, 2, 3}
	vecs := [][]float32{v, v, v, {1, 2, 2.5}}
	if err := st.PutResourceVectors(ctx(), 1, ids, vecs); err != nil {
		t.Fatal(err)
	}
	got, err := st.SearchResources(ctx(), []float32{1, 1, 1}, 3, recommender.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "hits", got, []recommender.Hit{{ResourceID: "R03", Score: 6}, {ResourceID: "R05", Score: 6}, {ResourceID: "R07", Score: 6}})
}

func (s suite) searchOnEmptyStoreFindsNothing(t *testing.T) {
	st := s.loaded(t)
	got, err := st.SearchResources(ctx(), []float32{1, 2}, 5, recommender.Filter{})
	if err != nil || len(got) != 0 {
		t.Fatalf("search without vectors: %v, %v; want no hits and no error", got, err)
	}
}

func (s suite) searchRejectsWrongDimension(t *testing.T) {
	st := s.open(t)
	set := s.loadSearchSet(t, st)
	_, err := st.SearchResources(ctx(), make([]float32, set.dim+1), 5, recommender.Filter{})
	wantIs(t, err, recommender.ErrInvalid)
}

func (s suite) putResourceVectorsReplacesAll(t *testing.T) {
	st := s.open(t)
	s.loadSearchSet(t, st)
	ids := []string{"R02", "R12"}
	if err := st.PutResourceVectors(ctx(), 2, ids, [][]float32{{1, 0}, {0, 1}}); err != nil {
		t.Fatal(err)
	}
	got, err := st.SearchResources(ctx(), []float32{1, 2}, 10, recommender.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "hits after replacement", got, []recommender.Hit{{ResourceID: "R12", Score: 2}, {ResourceID: "R02", Score: 1}})
}

func (s suite) putResourceVectorsRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		ids  []string
		vecs [][]float32
	}{
		{"UnknownResource", []string{"R01", "R404"}, [][]float32{{1, 2}, {3, 4}}},
		{"MixedDimensions", []string{"R01", "R02"}, [][]float32{{1, 2}, {3, 4, 5}}},
		{"CountMismatch", []string{"R01", "R02"}, [][]float32{{1, 2}}},
		{"DuplicateID", []string{"R01", "R01"}, [][]float32{{1, 2}, {3, 4}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := s.loaded(t)
			if err := st.PutResourceVectors(ctx(), 1, []string{"R03"}, [][]float32{{1, 1}}); err != nil {
				t.Fatal(err)
			}
			wantIs(t, st.PutResourceVectors(ctx(), 1, tc.ids, tc.vecs), recommender.ErrInvalid)
			got, err := st.SearchResources(ctx(), []float32{1, 1}, 5, recommender.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			same(t, "vectors after a rejected put", got, []recommender.Hit{{ResourceID: "R03", Score: 2}})
		})
	}
}

func (s suite) searchFollowsCatalogueChanges(t *testing.T) {
	st := s.loaded(t)
	if err := st.PutResourceVectors(ctx(), 1, []string{"R01", "R11"}, [][]float32{{1, 0}, {0, 1}}); err != nil {
		t.Fatal(err)
	}
	r := Fixture().Resources[0]
	r.Subject, r.Level = "FRANCAIS", "5e"
	mustIngest(t, st, &datasets.Dataset{Resources: []datasets.Resource{r}})
	got, err := st.SearchResources(ctx(), []float32{1, 1}, 5, recommender.Filter{Subject: "FRANCAIS", Levels: []string{"5e"}})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "hits under the new subject and level", got, []recommender.Hit{{ResourceID: "R01", Score: 1}})
	got, err = st.SearchResources(ctx(), []float32{1, 1}, 5, recommender.Filter{Subject: "MATHS"})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "hits under the old subject", got, []recommender.Hit{})
}
