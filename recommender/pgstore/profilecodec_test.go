package pgstore

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pgvector/pgvector-go"

	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

// generatedProfiles returns the fitted profiles of a small generated académie.
func generatedProfiles(tb testing.TB) []features.Profile {
	tb.Helper()
	ctx := context.Background()
	d, _, err := synth.GenerateDataset(synth.Config{Students: 40, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	m := memstore.New()
	if _, err := m.Ingest(ctx, d); err != nil {
		tb.Fatal(err)
	}
	if _, err := recommender.New(ctx, m, recommender.Config{}); err != nil {
		tb.Fatal(err)
	}
	ids, err := m.StudentIDs(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	ps, err := m.Profiles(ctx, ids)
	if err != nil || len(ps) == 0 {
		tb.Fatalf("%d profiles, %v", len(ps), err)
	}
	return ps
}

// The stored form reads back as the profile written, and a row still holding the JSON
// written before migration 020200 reads as it did.
func TestProfileCodecRoundTrip(t *testing.T) {
	for _, p := range generatedProfiles(t) {
		body, emb, err := profileArgs(&p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeProfile(p.StudentID, nil, body, emb)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(p, got); d != "" {
			t.Fatalf("CBOR round trip of %s (-wrote +read):\n%s", p.StudentID, d)
		}
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		v := pgvector.NewVector(p.Vector)
		old, err := decodeProfile(p.StudentID, js, nil, &v)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(p, old); d != "" {
			t.Fatalf("JSON row of %s (-wrote +read):\n%s", p.StudentID, d)
		}
	}
	if _, err := decodeProfile("S1", nil, []byte{0xff, 0x00}, nil); err == nil {
		t.Fatal("a corrupt body decoded without error")
	}
}

// BenchmarkProfileCodec times what the online update does to a stored profile besides
// the model: decode it, encode it again (the JSON form before migration 020200, the CBOR
// form since), for a generated pupil's fitted profile.
//
//	go test -run '^$' -bench ProfileCodec -count 6 ./recommender/pgstore/ > codec.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /codec codec.txt
func BenchmarkProfileCodec(b *testing.B) {
	ps := generatedProfiles(b)
	p := ps[len(ps)/2]
	js, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	body, _, err := profileArgs(&p)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("codec=json", func(b *testing.B) {
		for b.Loop() {
			var q features.Profile
			if err := json.Unmarshal(js, &q); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(q); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(js)), "stored-bytes")
	})
	b.Run("codec=cbor", func(b *testing.B) {
		for b.Loop() {
			q, err := decodeProfile(p.StudentID, nil, body, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := profileArgs(&q); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(body)), "stored-bytes")
	})
}
