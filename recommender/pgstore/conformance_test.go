package pgstore_test

import (
	"context"
	"testing"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

// TestConformance runs the suite every store passes. The search is strict: on the
// suite's small catalogues PostgreSQL scans exactly, and SearchResources breaks ties by id.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) recommender.Store { return openStore(t) })
}

// TestConformanceWithVectorMirror runs the suite with searches served by the in-process
// mirror of the resource vectors, as serve runs.
func TestConformanceWithVectorMirror(t *testing.T) {
	storetest.Run(t, func(t *testing.T) recommender.Store {
		url := pgtest.NewDatabase(t)
		s, err := pgstore.Open(context.Background(), url, pgstore.Options{Migrate: true, VectorMirror: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
