package pgstore_test

import (
	"testing"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

// TestConformance runs the suite every store passes. The search is strict: on the
// suite's small catalogues PostgreSQL scans exactly, and SearchResources breaks ties by id.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) recommender.Store { return openStore(t) })
}
