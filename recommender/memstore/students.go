package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parcours-ent/parcours/recommender"
)

var _ recommender.StudentSearcher = (*Store)(nil)

// SearchStudents scans the consenting pupils of the level (and school) exactly with the
// store's gonum dot kernel: a school's pupils are a few hundred, so an index would not pay.
func (s *Store) SearchStudents(ctx context.Context, q []float32, k int, f recommender.StudentFilter) ([]recommender.StudentHit, error) {
	if f.Level == "" {
		return nil, fmt.Errorf("memstore.SearchStudents: no level: %w", recommender.ErrInvalid)
	}
	if k <= 0 || len(q) == 0 {
		return []recommender.StudentHit{}, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var hits []recommender.StudentHit
	visit := func(id string) {
		st, ok := s.students[id]
		if !ok || !st.Consent || st.Level != f.Level || id == f.Exclude {
			return
		}
		p, ok := s.profiles[id]
		if !ok || len(p.Vector) != len(q) {
			return
		}
		hits = append(hits, recommender.StudentHit{StudentID: id, Score: dotGonum(q, p.Vector)})
	}
	if f.SchoolID != "" {
		for id := range s.bySchool[f.SchoolID] {
			visit(id)
		}
	} else {
		for id := range s.students {
			visit(id)
		}
	}
	slices.SortFunc(hits, func(a, b recommender.StudentHit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(a.StudentID, b.StudentID)
	})
	return hits[:min(k, len(hits))], nil
}
