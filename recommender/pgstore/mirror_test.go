package pgstore_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

// A replica's mirror follows what another replica writes: new vectors, then a resource
// moved to another subject, are searched on the next read after the notification, and
// the mirror's exact answers equal PostgreSQL's own (exact on a small catalogue).
func TestVectorMirrorFollowsOtherReplicasWrites(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	open := func(mirror bool) *pgstore.Store {
		s, err := pgstore.Open(ctx, url, pgstore.Options{Migrate: true, VectorMirror: mirror})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	writer, reader, plain := open(true), open(true), open(false)
	d := storetest.Fixture()
	ingest(t, writer, d)
	rng := rand.New(rand.NewPCG(3, 4))
	vecs := func(dim int) ([]string, [][]float32) {
		var ids []string
		var vs [][]float32
		for _, r := range d.Resources {
			v := make([]float32, dim)
			for j := range v {
				v[j] = float32(rng.NormFloat64())
			}
			ids, vs = append(ids, r.ID), append(vs, v)
		}
		return ids, vs
	}
	q := []float32{1, -0.5, 0.25, 2}
	eventually := func(what string, f recommender.Filter) {
		t.Helper()
		want, err := plain.SearchResources(ctx, q, 3, f)
		if err != nil {
			t.Fatal(err)
		}
		var got []recommender.Hit
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if got, err = reader.SearchResources(ctx, q, 3, f); err != nil {
				t.Fatal(err)
			}
			if cmp.Equal(ids(got), ids(want)) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s: the other replica's mirror answers %v, PostgreSQL %v", what, ids(got), ids(want))
	}
	ids4, v4 := vecs(4)
	if err := writer.PutResourceVectors(ctx, 1, ids4, v4); err != nil {
		t.Fatal(err)
	}
	eventually("after PutResourceVectors", recommender.Filter{})
	ids4, v4 = vecs(4)
	if err := writer.PutResourceVectors(ctx, 2, ids4, v4); err != nil {
		t.Fatal(err)
	}
	eventually("after new vectors", recommender.Filter{Subject: "MATHS"})
	moved := d.Resources[0]
	moved.Subject = "FRANCAIS"
	ingest(t, writer, &datasets.Dataset{Resources: []datasets.Resource{moved}})
	eventually("after a resource moved subject", recommender.Filter{Subject: "FRANCAIS"})
}

func ids(hs []recommender.Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ResourceID
	}
	return out
}
