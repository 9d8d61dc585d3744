package recommender_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// newPGStore opens a fresh PostgreSQL + pgvector store (skipped when PostgreSQL is absent
// and CI is not set).
func newPGStore(tb testing.TB) recommender.Store {
	tb.Helper()
	return newPGStoreWith(tb, pgstore.Options{})
}

// newPGStoreWith is newPGStore with options (e.g. the vector mirror serve runs with).
func newPGStoreWith(tb testing.TB, opts pgstore.Options) recommender.Store {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	opts.Migrate = true
	st, err := pgstore.Open(context.Background(), url, opts)
	if err != nil {
		tb.Fatalf("pgstore.Open: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// TestEngineOnPostgresMatchesMemstore runs the engine on both stores over the same data:
// the PostgreSQL store is the one served with DATABASE_URL, the memstore the reference.
func TestEngineOnPostgresMatchesMemstore(t *testing.T) {
	for _, mirror := range []bool{false, true} {
		t.Run(fmt.Sprintf("VectorMirror=%t", mirror), func(t *testing.T) { testEngineOnPostgres(t, mirror) })
	}
}

func testEngineOnPostgres(t *testing.T, mirror bool) {
	ds := academie(10, 8)
	ref, _ := newEngine(t, ds)
	pg := newPGStoreWith(t, pgstore.Options{VectorMirror: mirror})
	ctx := context.Background()
	if _, err := pg.Ingest(ctx, academie(10, 8)); err != nil {
		t.Fatal(err)
	}
	e, err := recommender.New(ctx, pg, fixedConfig())
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pg.StudentIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		for _, subject := range []string{"", "MATHS"} {
			r := recommender.Request{StudentID: id, K: 5, Subject: subject}
			if a, b := recommend(t, ref, r), recommend(t, e, r); !reflect.DeepEqual(a, b) {
				t.Errorf("%s %q: memstore and pgstore answers differ:\n%+v\n%+v", id, subject, a, b)
			}
		}
		p := recommender.PathRequest{StudentID: id, Subject: "MATHS", Length: 5}
		a, err1 := ref.Path(ctx, p)
		b, err2 := e.Path(ctx, p)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: paths differ (%v, %v):\n%+v\n%+v", id, err1, err2, a, b)
		}
	}
	again, err := recommender.New(ctx, pg, fixedConfig())
	if err != nil {
		t.Fatalf("restart on PostgreSQL: %v", err)
	}
	if again.ModelVersion() != e.ModelVersion() {
		t.Errorf("restart model version %q, want %q", again.ModelVersion(), e.ModelVersion())
	}
}
