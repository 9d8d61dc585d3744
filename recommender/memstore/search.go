package memstore

import (
	"context"
	"fmt"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/vecindex"
)

// PutResourceVectors replaces every resource vector. All vectors have one dimension and
// name distinct known resources, or nothing changes (ErrInvalid).
func (s *Store) PutResourceVectors(ctx context.Context, schemaVersion int, ids []string, vecs [][]float32) error {
	if len(ids) != len(vecs) {
		return fmt.Errorf("memstore.PutResourceVectors: %d ids for %d vectors: %w", len(ids), len(vecs), recommender.ErrInvalid)
	}
	dim := 0
	if len(vecs) > 0 {
		dim = len(vecs[0])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]struct{}, len(ids))
	for i, id := range ids {
		if _, ok := s.res[id]; !ok {
			return fmt.Errorf("memstore.PutResourceVectors: unknown resource %q: %w", id, recommender.ErrInvalid)
		}
		if _, dup := seen[id]; dup {
			return fmt.Errorf("memstore.PutResourceVectors: resource %q twice: %w", id, recommender.ErrInvalid)
		}
		seen[id] = struct{}{}
		if len(vecs[i]) != dim || dim == 0 {
			return fmt.Errorf("memstore.PutResourceVectors: vector %d of %q has dimension %d, want %d: %w", i, id, len(vecs[i]), dim, recommender.ErrInvalid)
		}
	}
	s.vec = vecindex.Build(schemaVersion, dim, ids, func(i int) vecindex.Meta { return s.metaOf(ids[i]) },
		func(i int) []float32 { return vecs[i] })
	return nil
}

// metaOf is what a search filters a resource by.
func (s *Store) metaOf(id string) vecindex.Meta {
	r := s.res[id]
	return vecindex.Meta{Subject: r.Subject, Level: r.Level}
}

// refreshVectorMeta regroups the vectors after resources changed, since a resource may
// have moved to another subject or level. s.mu is held.
func (s *Store) refreshVectorMeta() {
	if s.vec != nil && s.vec.Len() > 0 {
		s.vec = s.vec.Regroup(s.metaOf)
	}
}

// ResourceVectors returns a copy of the stored resource vectors and their schema
// version, so that a fitted state can be copied into another store (the offline
// evaluation gives each simulated policy a small store of its own).
func (s *Store) ResourceVectors() (schema int, ids []string, vecs [][]float32) {
	s.mu.RLock()
	v := s.vec
	s.mu.RUnlock()
	if v == nil {
		return 0, nil, nil
	}
	ids = append([]string(nil), v.IDs()...)
	vecs = make([][]float32, len(ids))
	for i := range ids {
		vecs[i] = append([]float32(nil), v.Vector(i)...)
	}
	return v.Schema(), ids, vecs
}

// SearchResources is exact maximum inner product search (vecindex): every row that
// passes the filter is scored, the best k kept; ties go to the smaller id.
func (s *Store) SearchResources(ctx context.Context, q []float32, k int, f recommender.Filter) ([]recommender.Hit, error) {
	return s.searchWith(q, k, f, vecindex.ScoreRows)
}

// searchWith is SearchResources with the dot-product kernel as a parameter, so that
// benchmarks compare kernels on the same scan. The index is immutable: the lock is held
// only to read which one is current.
func (s *Store) searchWith(q []float32, k int, f recommender.Filter, kernel vecindex.RowScorer) ([]recommender.Hit, error) {
	s.mu.RLock()
	v := s.vec
	s.mu.RUnlock()
	hits, err := v.SearchWith(q, k, f, kernel)
	if err != nil {
		return nil, fmt.Errorf("memstore.SearchResources: %w", err)
	}
	return hits, nil
}
