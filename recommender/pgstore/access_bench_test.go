package pgstore_test

import (
	"context"
	"testing"

	"github.com/parcours-ent/parcours/recommender/storetest"
)

// BenchmarkAccess is the store-of-record read every pupil request makes (issue 13.1):
// one primary-key read of class, consent and generation, in parallel as in service.
//
//	go test -run '^$' -bench 'Access$' -count 5 ./recommender/pgstore/
func BenchmarkAccess(b *testing.B) {
	s := openStore(b)
	if _, err := s.Ingest(context.Background(), storetest.Fixture()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Access(context.Background(), "S1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
