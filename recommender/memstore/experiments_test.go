package memstore_test

import (
	"testing"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment/exptest"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

func TestExperimentConformance(t *testing.T) {
	exptest.Run(t, func(t *testing.T) recommender.Store { return memstore.New() })
}
