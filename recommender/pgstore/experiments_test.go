package pgstore_test

import (
	"testing"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment/exptest"
)

func TestExperimentConformance(t *testing.T) {
	exptest.Run(t, func(t *testing.T) recommender.Store { return openStore(t) })
}
