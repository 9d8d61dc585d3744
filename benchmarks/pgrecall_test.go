package benchmarks

// The pgvector recall harness: how close HNSW search in PostgreSQL comes to the exact
// answer, and how fast, over an ef_search sweep, with and without a subject filter. It is
// slow (an HNSW build over 100,000 vectors takes minutes on two cores), so it runs only
// when PARCOURS_RECALL lists the sizes to try, e.g.
//
//	PARCOURS_RECALL=10000,100000 go test -run TestPgRecall -v -timeout 60m ./benchmarks/

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

const (
	recallDim      = 300 // the real layout: one weight per competency plus latent factors
	recallSubjects = 8
	recallComps    = 35 // per subject: 8×35 = 280 competency dimensions
	recallLatent   = recallDim - recallSubjects*recallComps
	recallQueries  = 200
	recallK        = 10
)

var efSweep = []int{10, 20, 40, 80, 100, 200, 400, 800}

// recallCatalogue builds n resources shaped like the real layout: each serves one to three
// competencies of its subject (non-negative weights on those dimensions) and has small
// dense latent factors; a query is a pupil's needs over a handful of competencies plus
// latent factors. Seeded: the same n gives the same vectors.
func recallCatalogue(n int) (*datasets.Dataset, []string, [][]float32, []string) {
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	d := &datasets.Dataset{}
	subjects := make([]string, recallSubjects)
	for s := range subjects {
		subjects[s] = fmt.Sprintf("SUBJ%d", s)
		for c := range recallComps {
			d.Competencies = append(d.Competencies, datasets.Competency{
				ID: fmt.Sprintf("C%d-%02d", s, c), Subject: subjects[s], Level: "6e", Label: "c"})
		}
	}
	ids := make([]string, n)
	vecs := make([][]float32, n)
	subjOf := make([]string, n)
	for i := range n {
		s := rng.IntN(recallSubjects)
		v := make([]float32, recallDim)
		var comps []string
		for range 1 + rng.IntN(3) {
			c := rng.IntN(recallComps)
			v[s*recallComps+c] = float32(0.5 + rng.Float64())
			comps = append(comps, fmt.Sprintf("C%d-%02d", s, c))
		}
		slices.Sort(comps)
		comps = slices.Compact(comps)
		for j := recallSubjects * recallComps; j < recallDim; j++ {
			v[j] = float32(rng.NormFloat64() * 0.3)
		}
		ids[i] = fmt.Sprintf("R%07d", i)
		vecs[i] = v
		subjOf[i] = subjects[s]
		d.Resources = append(d.Resources, datasets.Resource{ID: ids[i], Title: "r", Subject: subjects[s], Level: "6e",
			Type: datasets.ResourceExercise, Competencies: comps, Difficulty: rng.NormFloat64(), DurationMin: 10})
	}
	return d, ids, vecs, subjOf
}

func recallQueriesFor(n int) [][]float32 {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	qs := make([][]float32, recallQueries)
	for i := range qs {
		q := make([]float32, recallDim)
		for range 3 + rng.IntN(12) { // needs spread over a few subjects
			q[rng.IntN(recallSubjects*recallComps)] = float32(rng.Float64())
		}
		for j := recallSubjects * recallComps; j < recallDim; j++ {
			q[j] = float32(rng.NormFloat64() * 0.3)
		}
		qs[i] = q
	}
	return qs
}

// exactTopK is the ground truth: a brute-force scan, ties broken by id.
func exactTopK(ids []string, vecs [][]float32, subjOf []string, q []float32, k int, subject string) []string {
	type hit struct {
		id string
		s  float32
	}
	var hits []hit
	for i, v := range vecs {
		if subject != "" && subjOf[i] != subject {
			continue
		}
		var s float32
		for j := range v {
			s += v[j] * q[j]
		}
		hits = append(hits, hit{ids[i], s})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(b.s, a.s); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]string, 0, k)
	for _, h := range hits[:min(k, len(hits))] {
		out = append(out, h.id)
	}
	return out
}

func TestPgRecall(t *testing.T) {
	sizes := os.Getenv("PARCOURS_RECALL")
	if sizes == "" {
		t.Skip("set PARCOURS_RECALL=10000[,100000] to run the pgvector recall harness")
	}
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			t.Fatalf("PARCOURS_RECALL: bad size %q", f)
		}
		t.Run(strconv.Itoa(n), func(t *testing.T) { runRecall(t, n) })
	}
}

func runRecall(t *testing.T, n int) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	if err := pgstore.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	d, ids, vecs, subjOf := recallCatalogue(n)
	s, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Ingest(ctx, d); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := s.PutResourceVectors(ctx, 1, ids, vecs); err != nil {
		t.Fatal(err)
	}
	t.Logf("n=%d dim=%d: PutResourceVectors with HNSW build (m=16, ef_construction=64) took %v", n, recallDim, time.Since(t0).Round(time.Millisecond))

	logPlans(t, url)
	qs := recallQueriesFor(n)
	subjects := []string{""}
	subjects = append(subjects, "SUBJ3") // one subject: ~1/8 of the catalogue
	truth := map[string][][]string{}
	for _, subj := range subjects {
		for _, q := range qs {
			truth[subj] = append(truth[subj], exactTopK(ids, vecs, subjOf, q, recallK, subj))
		}
	}
	t.Logf("| n | filter | iterative scan | ef_search | recall@%d | p50 ms | p99 ms |", recallK)
	t.Logf("|---|---|---|---|---|---|---|")
	for _, ef := range efSweep {
		for _, subj := range subjects {
			modes := []string{"relaxed_order"}
			if subj != "" && (ef == 40 || ef == 100) {
				modes = append(modes, "strict_order", "off")
			}
			for _, mode := range modes {
				recall, p50, p99 := measureRecall(t, url, ef, mode, subj, qs, truth[subj])
				filter := "none"
				if subj != "" {
					filter = "subject (1/8)"
				}
				t.Logf("| %d | %s | %s | %d | %.3f | %.2f | %.2f |", n, filter, mode, ef, recall, p50, p99)
			}
		}
	}
}

// measureRecall runs every query once on a store with the given settings and returns
// recall@k against the exact answers and the p50 and p99 latency of SearchResources.
func measureRecall(t *testing.T, url string, ef int, mode, subject string, qs [][]float32, truth [][]string) (recall, p50, p99 float64) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, url, pgstore.Options{EfSearch: ef, IterativeScan: mode, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var found, total int
	lat := make([]time.Duration, 0, len(qs))
	for i, q := range qs {
		start := time.Now()
		hits, err := st.SearchResources(ctx, q, recallK, recommender.Filter{Subject: subject})
		lat = append(lat, time.Since(start))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if slices.Contains(truth[i], h.ResourceID) {
				found++
			}
		}
		total += len(truth[i])
	}
	slices.Sort(lat)
	return float64(found) / float64(total), ms(lat[len(lat)/2]), ms(lat[int(math.Ceil(0.99*float64(len(lat))))-1])
}

// logPlans shows whether the planner serves each query shape from the HNSW index.
func logPlans(t *testing.T, url string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	q := "[" + strings.TrimSuffix(strings.Repeat("0.1,", recallDim), ",") + "]"
	for _, where := range []string{"", "WHERE subject = 'SUBJ3'"} {
		rows, err := conn.Query(ctx, fmt.Sprintf(`EXPLAIN SELECT resource_id FROM resource_vectors %s
			ORDER BY embedding::vector(%d) <#> $1::vector(%d) LIMIT 10`, where, recallDim, recallDim), q)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("plan %q: %s", where, vectorLiteral.ReplaceAllString(strings.Join(plan, " / "), "[…]"))
	}
}

var vectorLiteral = regexp.MustCompile(`\[[-0-9.,e]+\]`)

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
