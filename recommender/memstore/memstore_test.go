package memstore_test

import (
	"testing"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/memstore"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) recommender.Store {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}
