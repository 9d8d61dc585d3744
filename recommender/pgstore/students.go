package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/parcours-ent/parcours/recommender"
)

var _ recommender.StudentSearcher = (*Store)(nil)

// SearchStudents orders the consenting pupils of the level (and school) by pgvector's
// inner product. Within a school it is an exact scan of a few hundred rows, which the
// students (school_id) index narrows; without a school it scans the level.
func (s *Store) SearchStudents(ctx context.Context, q []float32, k int, f recommender.StudentFilter) ([]recommender.StudentHit, error) {
	if f.Level == "" {
		return nil, fmt.Errorf("pgstore.SearchStudents: no level: %w", recommender.ErrInvalid)
	}
	if k <= 0 || len(q) == 0 {
		return []recommender.StudentHit{}, nil
	}
	rows, err := s.read.Query(ctx, `SELECT p.student_id, -(p.embedding <#> $1) AS score
		FROM profiles p JOIN students st ON st.id = p.student_id
		WHERE st.consent AND st.level = $2 AND ($3 = '' OR st.school_id = $3) AND st.id <> $4
		  AND p.embedding IS NOT NULL AND vector_dims(p.embedding) = $5
		ORDER BY p.embedding <#> $1, p.student_id LIMIT $6`,
		pgvector.NewVector(q), f.Level, f.SchoolID, f.Exclude, len(q), k)
	if err != nil {
		return nil, fmt.Errorf("pgstore.SearchStudents: %w", wrap(err))
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (recommender.StudentHit, error) {
		var h recommender.StudentHit
		var score float64
		err := r.Scan(&h.StudentID, &score)
		h.Score = float32(score)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore.SearchStudents: %w", wrap(err))
	}
	return hits, nil
}
