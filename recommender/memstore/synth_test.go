package memstore_test

import (
	"context"
	"testing"

	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

func synthAcademie(tb testing.TB, pupils int) *memstore.Store {
	tb.Helper()
	ds, _, err := synth.GenerateDataset(synth.Config{Students: pupils, Seed: 42})
	if err != nil {
		tb.Fatal(err)
	}
	s := memstore.New()
	ch, err := s.Ingest(context.Background(), ds)
	if err != nil {
		tb.Fatalf("the synthetic académie does not load: %v", err)
	}
	if len(ch.Students) != len(ds.Students) {
		tb.Fatalf("first load reports %d pupils changed, want %d", len(ch.Students), len(ds.Students))
	}
	return s
}

// The generator (what `serve` loads by default) and the store's checks agree, and a
// second load of the same académie is a no-op.
func TestSyntheticAcademieLoadsOnceAndOnlyOnce(t *testing.T) {
	ds, _, err := synth.GenerateDataset(synth.Config{Students: 60, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	s := memstore.New()
	if _, err := s.Ingest(context.Background(), ds); err != nil {
		t.Fatalf("the synthetic académie does not load: %v", err)
	}
	ch, err := s.Ingest(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Students)+len(ch.Classes) != 0 || ch.Catalogue {
		t.Fatalf("second load reports changes: %+v", ch)
	}
}

func BenchmarkIngestSynth300(b *testing.B) {
	ds, _, err := synth.GenerateDataset(synth.Config{Students: 300, Seed: 42})
	if err != nil {
		b.Fatal(err)
	}
	rows := len(ds.Grades) + len(ds.Absences) + len(ds.Statements) + len(ds.Lessons)
	for b.Loop() {
		if _, err := memstore.New().Ingest(context.Background(), ds); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkPupilEvents(b *testing.B) {
	s := synthAcademie(b, 300)
	ids, _ := s.StudentIDs(context.Background())
	i := 0
	for b.Loop() {
		if _, err := s.PupilEvents(context.Background(), ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
