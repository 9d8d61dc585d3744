package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

// benchRows is the batch size of the ingest benchmarks: a term of grades for a few
// thousand pupils, big enough that per-call overhead does not dominate.
const benchRows = 100_000

// benchFixture returns a store holding the fixture plus 2,000 pupils, and a generator of
// batches of benchRows new grades and statements (same seed, same batch).
func benchFixture(b *testing.B) (*pgstore.Store, func(seed int) *datasets.Dataset) {
	b.Helper()
	s := openStore(b)
	base := storetest.Fixture()
	var pupils []string
	for i := range 2000 {
		id := fmt.Sprintf("P%05d", i)
		pupils = append(pupils, id)
		base.Students = append(base.Students, datasets.Student{ID: id, SchoolID: "SCH", ClassID: fmt.Sprintf("C%03d", i/30), Level: "6e", Consent: true})
	}
	ingest(b, s, base)
	comps := []string{"M6-NUM", "M6-FRAC", "M5-EQ"}
	var resources []string
	for _, r := range base.Resources {
		resources = append(resources, r.ID)
	}
	return s, func(seed int) *datasets.Dataset {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		d := &datasets.Dataset{}
		for i := range benchRows {
			p := pupils[rng.IntN(len(pupils))]
			at := storetest.Base.Add(time.Duration(rng.IntN(200*24)) * time.Hour)
			d.Grades = append(d.Grades, datasets.Grade{
				ID: fmt.Sprintf("g%d-%d", seed, i), StudentID: p, Subject: "MATHS",
				Competencies: []string{comps[rng.IntN(len(comps))]}, AssessmentID: fmt.Sprintf("EV%d", i%500),
				Date: at, Score: float64(rng.IntN(41)) / 2, OutOf: 20, Coefficient: 1,
			})
			sc := rng.Float64()
			ok := sc > 0.5
			d.Statements = append(d.Statements, datasets.Statement{
				ID: fmt.Sprintf("st%d-%d", seed, i), StudentID: p, Verb: datasets.VerbAnswered,
				ObjectID: resources[rng.IntN(len(resources))], Timestamp: at, Scaled: &sc, Success: &ok,
			})
		}
		return d
	}
}

// benchmarkIngest ingests batches of new rows of one kind and reports rows/s; with again
// set it re-ingests the same batch, which must write nothing.
func benchmarkIngest(b *testing.B, kind string, again bool) {
	s, gen := benchFixture(b)
	ctx := context.Background()
	batches := make([]*datasets.Dataset, 0, 4)
	for i := 0; i < 4; i++ {
		d := gen(i)
		if kind == "grades" {
			d.Statements = nil
		} else {
			d.Grades = nil
		}
		batches = append(batches, d)
	}
	if again {
		if _, err := s.Ingest(ctx, batches[0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := batches[0]
		if !again {
			if i >= len(batches) {
				b.StopTimer()
				d = gen(i)
				if kind == "grades" {
					d.Statements = nil
				} else {
					d.Grades = nil
				}
				b.StartTimer()
			} else {
				d = batches[i]
			}
		}
		ch, err := s.Ingest(ctx, d)
		if err != nil {
			b.Fatal(err)
		}
		if again && len(ch.Students) > 0 {
			b.Fatalf("re-ingest changed %d pupils", len(ch.Students))
		}
	}
	b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkIngestGrades(b *testing.B)            { benchmarkIngest(b, "grades", false) }
func BenchmarkIngestStatements(b *testing.B)        { benchmarkIngest(b, "statements", false) }
func BenchmarkReingestGradesUnchanged(b *testing.B) { benchmarkIngest(b, "grades", true) }
