package memstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

var benchSubjects = []string{"MATHS", "FRANCAIS", "HIST-GEO", "SVT", "PHYS-CHIM", "ANGLAIS"}

// bigStore holds n resources over six subjects and seven levels, with seeded vectors.
func bigStore(tb testing.TB, n, dim int) (*Store, [][]float32) {
	tb.Helper()
	s := New()
	ds := &datasets.Dataset{}
	for i, sub := range benchSubjects {
		ds.Competencies = append(ds.Competencies, datasets.Competency{ID: fmt.Sprintf("C%d", i), Subject: sub, Level: "6e", Label: sub})
	}
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("R%06d", i)
		ds.Resources = append(ds.Resources, datasets.Resource{
			ID: ids[i], Title: ids[i], Subject: benchSubjects[i%len(benchSubjects)],
			Level: datasets.Levels[i%len(datasets.Levels)], Type: datasets.ResourceExercise,
			Competencies: []string{fmt.Sprintf("C%d", i%len(benchSubjects))}, DurationMin: 10,
		})
	}
	if _, err := s.Ingest(context.Background(), ds); err != nil {
		tb.Fatal(err)
	}
	vecs := storetest.RandomVectors(1, n, dim)
	if err := s.PutResourceVectors(context.Background(), 1, ids, vecs); err != nil {
		tb.Fatal(err)
	}
	return s, vecs
}

// BenchmarkSearch50k compares the kernels on an exact top-10 search over 50 000
// resources of dimension 300, unfiltered and filtered to one subject (a sixth of rows).
func BenchmarkSearch50k(b *testing.B) {
	const n, dim = 50_000, 300
	s, _ := bigStore(b, n, dim)
	queries := storetest.RandomVectors(2, 64, dim)
	kernels := []struct {
		name string
		fn   rowScorer
	}{{"unrolled", perRow(dotUnrolled)}, {"dot", perRow(dotGonum)}, {"gemv", scoreRows}}
	filters := []struct {
		name string
		f    recommender.Filter
	}{{"all", recommender.Filter{}}, {"subject", recommender.Filter{Subject: "MATHS"}},
		{"subject+level", recommender.Filter{Subject: "MATHS", Levels: []string{"5e"}}}}
	for _, f := range filters {
		for _, k := range kernels {
			b.Run(f.name+"/"+k.name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := s.searchWith(queries[i%len(queries)], 10, f.f, k.fn); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

func BenchmarkDot300(b *testing.B) {
	v := storetest.RandomVectors(3, 2, 300)
	for _, k := range []struct {
		name string
		fn   func(a, b []float32) float32
	}{{"unrolled", dotUnrolled}, {"gonum", dotGonum}} {
		b.Run(k.name, func(b *testing.B) {
			var sink float32
			for b.Loop() {
				sink += k.fn(v[0], v[1])
			}
			_ = sink
		})
	}
}
