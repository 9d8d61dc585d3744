package memstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

func TestKernelsAgreeWithFloat64(t *testing.T) {
	for _, n := range []int{1, 7, 8, 9, 64, 300, 301} {
		t.Run(fmt.Sprintf("Len%d", n), func(t *testing.T) {
			v := storetest.RandomVectors(uint64(n), 2, n)
			var want float64
			for i := range n {
				want += float64(v[0][i]) * float64(v[1][i])
			}
			tol := 1e-5 * math.Sqrt(float64(n)) * 4
			for name, k := range map[string]func(a, b []float32) float32{"unrolled": dotUnrolled, "gonum": dotGonum} {
				if got := float64(k(v[0], v[1])); math.Abs(got-want) > tol {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
		})
	}
}

func TestKernelPanicsOnLengthMismatch(t *testing.T) {
	for name, k := range map[string]func(a, b []float32) float32{"unrolled": dotUnrolled, "gonum": dotGonum} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic on vectors of different lengths")
				}
			}()
			k(make([]float32, 3), make([]float32, 4))
		})
	}
}

// bruteForce ranks every row of a bigStore by float64 inner product, ties by id.
func bruteForce(s *Store, vecs [][]float32, q []float32, k int, f recommender.Filter) []string {
	type scored struct {
		id    string
		score float64
	}
	var all []scored
	for i, v := range vecs {
		id := fmt.Sprintf("R%06d", i)
		r := s.res[id]
		if (f.Subject != "" && r.Subject != f.Subject) || (len(f.Levels) > 0 && !slices.Contains(f.Levels, r.Level)) || slices.Contains(f.Exclude, id) {
			continue
		}
		var d float64
		for j := range v {
			d += float64(v[j]) * float64(q[j])
		}
		all = append(all, scored{id, d})
	}
	slices.SortFunc(all, func(a, b scored) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	var ids []string
	for _, x := range all[:min(k, len(all))] {
		ids = append(ids, x.id)
	}
	return ids
}

func TestSearchMatchesBruteForceOn5000Rows(t *testing.T) {
	s, vecs := bigStore(t, 5000, 64)
	queries := storetest.RandomVectors(9, 4, 64)
	filters := []recommender.Filter{
		{},
		{Subject: "SVT"},
		{Levels: []string{"6e", "Tle"}},
		{Subject: "MATHS", Levels: []string{"4e"}, Exclude: []string{"R000018", "R000060"}},
	}
	for qi, q := range queries {
		for fi, f := range filters {
			want := bruteForce(s, vecs, q, 20, f)
			hits, err := s.SearchResources(context.Background(), q, 20, f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hits {
				got = append(got, h.ResourceID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("query %d filter %d: got %v, want %v", qi, fi, got, want)
			}
		}
	}
}

func TestPurgingVoidingStatementTakesItsTarget(t *testing.T) {
	s := New()
	ctx := context.Background()
	if _, err := s.Ingest(ctx, storetest.Fixture()); err != nil {
		t.Fatal(err)
	}
	// Make the voiding statement older than the statement it voids, then purge between.
	v := s.statements[storetest.StmtVoiding]
	v.Timestamp = storetest.Base
	s.statements[storetest.StmtVoiding] = v
	n, err := s.Purge(ctx, storetest.Base, storetest.Base.Add(1))
	if err != nil {
		t.Fatal(err)
	}
	if n.Statements != 2 {
		t.Fatalf("purged %d statements, want the voiding one and its target", n.Statements)
	}
	ev, _ := s.PupilEvents(ctx, "S1")
	for _, x := range ev.Statements {
		if x.ID == storetest.StmtVoided {
			t.Fatal("voided statement came back after its voiding statement was purged")
		}
	}
}

func TestPingFailsAfterClose(t *testing.T) {
	s := New()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Ping(context.Background()); !errors.Is(err, recommender.ErrUnavailable) {
		t.Fatalf("Ping after Close = %v, want ErrUnavailable", err)
	}
}
