package pgstore_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

// Concurrent look-ups share rounds: each still finds its own pupil and resource, by id
// (and nothing for names that match nothing).
func TestLookUpXAPIConcurrentCallsEachGetTheirOwn(t *testing.T) {
	s := openStore(t)
	ingest(t, s, storetest.Fixture())
	pupils := []string{"S1", "S2", "S3", "S4", "S5"}
	res := []string{"R01", "R02", "R03"}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			sid, rid := pupils[i%5], res[i%3]
			ps, rs, err := s.LookUpXAPI(context.Background(), []string{sid, "nobody"}, nil, []string{rid, "https://nowhere.example/x"})
			if err != nil {
				t.Error(err)
				return
			}
			if !slices.ContainsFunc(ps, func(p datasets.Student) bool { return p.ID == sid }) ||
				!slices.ContainsFunc(rs, func(r datasets.Resource) bool { return r.ID == rid }) {
				t.Errorf("look-up %d of %s and %s found %d pupils and %d resources without them", i, sid, rid, len(ps), len(rs))
			}
		})
	}
	wg.Wait()
	ps, rs, err := s.LookUpXAPI(context.Background(), []string{"nobody"}, nil, []string{"https://nowhere.example/x"})
	if err != nil || len(ps)+len(rs) != 0 {
		t.Fatalf("unknown names found %v %v (%v)", ps, rs, err)
	}
}
