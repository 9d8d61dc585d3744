package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// Profile returns the pupil's stored profile with its vector; ErrNotFound when none.
// It reads from the replica when there is one.
func (s *Store) Profile(ctx context.Context, id string) (features.Profile, error) {
	ps, err := profiles(ctx, s.read, []string{id})
	if err != nil {
		return features.Profile{}, fmt.Errorf("pgstore.Profile: %w", err)
	}
	if len(ps) == 0 {
		return features.Profile{}, fmt.Errorf("pgstore.Profile: %q: %w", id, recommender.ErrNotFound)
	}
	return ps[0], nil
}

// Profiles returns the stored profiles of ids that have one, in ids order.
func (s *Store) Profiles(ctx context.Context, ids []string) ([]features.Profile, error) {
	ps, err := profiles(ctx, s.read, ids)
	if err != nil {
		return nil, fmt.Errorf("pgstore.Profiles: %w", err)
	}
	return ps, nil
}

func profiles(ctx context.Context, q querier, ids []string) ([]features.Profile, error) {
	out := []features.Profile{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT student_id, `+profileColumns+` FROM profiles WHERE student_id = ANY($1)`, ids)
	if err != nil {
		return nil, wrap(err)
	}
	byID := make(map[string]features.Profile, len(ids))
	var id string
	var data, body []byte
	var emb *pgvector.Vector
	_, err = pgx.ForEachRow(rows, []any{&id, &data, &body, &emb}, func() error {
		p, err := decodeProfile(id, data, body, emb)
		byID[id] = p
		return err
	})
	if err != nil {
		return nil, wrap(err)
	}
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// PutProfiles upserts profiles in one transaction. A profile of an unknown pupil is
// ErrNotFound and nothing is written.
func (s *Store) PutProfiles(ctx context.Context, ps []features.Profile) error {
	if len(ps) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for i := range ps {
		if err := queueProfile(batch, &ps[i]); err != nil {
			return fmt.Errorf("pgstore.PutProfiles: %w", err)
		}
	}
	// Answers follow the profile: its pupils get a new generation in the same transaction.
	ids := make([]string, len(ps))
	for i := range ps {
		ids[i] = ps[i].StudentID
	}
	batch.Queue(`UPDATE students SET `+nextGeneration+` WHERE id = ANY($1)`, ids)
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("pgstore.PutProfiles: %w", wrap(err))
	}
	return nil
}

// hnswIndex is the name of the expression index on embedding::vector(D).
const hnswIndex = "resource_vectors_hnsw"

// PutResourceVectors replaces the resource vectors. When the dimension is unchanged the
// rows are upserted in place and the HNSW index follows incrementally, so searches are
// never blocked; when it changes, the index is dropped and rebuilt for the new dimension
// inside the same transaction.
func (s *Store) PutResourceVectors(ctx context.Context, schemaVersion int, ids []string, vecs [][]float32) error {
	if len(ids) != len(vecs) {
		return fmt.Errorf("pgstore.PutResourceVectors: %d ids for %d vectors: %w", len(ids), len(vecs), recommender.ErrInvalid)
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return fmt.Errorf("pgstore.PutResourceVectors: resource %q twice: %w", id, recommender.ErrInvalid)
		}
		seen[id] = true
	}
	dim := 0
	for i, v := range vecs {
		if i == 0 {
			dim = len(v)
		}
		if len(v) != dim || dim == 0 {
			return fmt.Errorf("pgstore.PutResourceVectors: vector %d has %d dimensions, want %d: %w", i, len(v), dim, recommender.ErrInvalid)
		}
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var old int
		err := tx.QueryRow(ctx, `SELECT dim FROM resource_vector_meta FOR UPDATE`).Scan(&old)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return wrap(err)
		}
		rebuild := old != dim && dim > 0
		if rebuild || len(ids) == 0 {
			if _, err := tx.Exec(ctx, `DROP INDEX IF EXISTS `+hnswIndex+`; TRUNCATE resource_vectors`); err != nil {
				return wrap(err)
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_vectors (resource_id text COLLATE "C", embedding vector) ON COMMIT DROP`); err != nil {
			return wrap(err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_vectors"}, []string{"resource_id", "embedding"},
			pgx.CopyFromSlice(len(ids), func(i int) ([]any, error) {
				return []any{ids[i], pgvector.NewVector(vecs[i])}, nil
			})); err != nil {
			return wrap(err)
		}
		var missing string
		err = tx.QueryRow(ctx, `SELECT s.resource_id FROM stage_vectors s LEFT JOIN resources r ON r.id = s.resource_id
			WHERE r.id IS NULL ORDER BY 1 LIMIT 1`).Scan(&missing)
		if err == nil {
			return fmt.Errorf("unknown resource %q: %w", missing, recommender.ErrInvalid)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return wrap(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM resource_vectors v WHERE NOT EXISTS (SELECT 1 FROM stage_vectors s WHERE s.resource_id = v.resource_id)`); err != nil {
			return wrap(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO resource_vectors (resource_id, embedding, schema_version, subject, level)
			SELECT s.resource_id, s.embedding, $1, r.subject, r.level FROM stage_vectors s JOIN resources r ON r.id = s.resource_id
			ON CONFLICT (resource_id) DO UPDATE SET embedding = EXCLUDED.embedding, schema_version = EXCLUDED.schema_version,
				subject = EXCLUDED.subject, level = EXCLUDED.level
			WHERE (resource_vectors.embedding, resource_vectors.schema_version, resource_vectors.subject, resource_vectors.level)
				IS DISTINCT FROM (EXCLUDED.embedding, EXCLUDED.schema_version, EXCLUDED.subject, EXCLUDED.level)`, schemaVersion); err != nil {
			return wrap(err)
		}
		if rebuild {
			// Building is much faster when the graph fits in maintenance_work_mem.
			if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '512MB'`); err != nil {
				return wrap(err)
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE INDEX %s ON resource_vectors
				USING hnsw ((embedding::vector(%d)) vector_ip_ops) WITH (m = 16, ef_construction = 64)`, hnswIndex, dim)); err != nil {
				return wrap(err)
			}
		}
		// Fresh statistics let the planner weigh a filter against the index scan.
		if _, err := tx.Exec(ctx, `ANALYZE resource_vectors`); err != nil {
			return wrap(err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO resource_vector_meta (dim, schema_version, updated_at) VALUES ($1, $2, now())
			ON CONFLICT (singleton) DO UPDATE SET dim = EXCLUDED.dim, schema_version = EXCLUDED.schema_version, updated_at = now()`,
			dim, schemaVersion)
		if err != nil {
			return wrap(err)
		}
		// Every replica's mirror reloads once this commits.
		_, err = tx.Exec(ctx, notifyVectors)
		return wrap(err)
	})
	if err != nil {
		return fmt.Errorf("pgstore.PutResourceVectors: %w", wrap(err))
	}
	s.reloadMirror(ctx)
	return nil
}

// SearchResources returns the k resources with the largest inner product with q that
// pass f, best first (ties by id). It reads from the replica when there is one.
//
// The query orders by embedding::vector(len(q)) <#> q, which the HNSW index serves when
// len(q) is the stored dimension; a query of another dimension is ErrInvalid. With a
// filter, the session's hnsw.iterative_scan = relaxed_order keeps the index scanning
// until k rows pass (up to hnsw.max_scan_tuples), and the results are re-sorted here.
func (s *Store) SearchResources(ctx context.Context, q []float32, k int, f recommender.Filter) ([]recommender.Hit, error) {
	if k <= 0 {
		return []recommender.Hit{}, nil
	}
	if len(q) == 0 {
		return nil, fmt.Errorf("pgstore.SearchResources: empty query vector: %w", recommender.ErrInvalid)
	}
	if s.mirror != nil {
		if idx := s.mirror.idx.Load(); idx != nil && idx.Len() > 0 && idx.Dim() == len(q) {
			return idx.Search(q, k, f)
		}
	}
	// With a filter, a relaxed-order iterative scan returns the first rows that pass, in
	// roughly the index's order: fetching ef_search of them and keeping the best k here
	// raised recall@10 on 100,000 vectors with a 1/8 filter (benchmarks/pgrecall_test.go).
	// A search by level (the engine's candidate search) runs at LevelEfSearch.
	ef := s.efSearch
	if len(f.Levels) > 0 {
		ef = s.levelEfSearch
	}
	ef = min(max(ef, k), 1000) // the candidate list must hold k; pgvector's maximum
	limit := k
	if f.Subject != "" || len(f.Levels) > 0 || len(f.Exclude) > 0 {
		limit = max(k, ef)
	}
	args := []any{pgvector.NewVector(q), limit}
	var where []string
	if f.Subject != "" {
		args = append(args, f.Subject)
		where = append(where, fmt.Sprintf("subject = $%d", len(args)))
	}
	if len(f.Levels) > 0 {
		args = append(args, f.Levels)
		where = append(where, fmt.Sprintf("level = ANY($%d)", len(args)))
	}
	if len(f.Exclude) > 0 {
		args = append(args, f.Exclude)
		where = append(where, fmt.Sprintf("resource_id <> ALL($%d)", len(args)))
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	sql := fmt.Sprintf(`SELECT resource_id, (embedding::vector(%[1]d) <#> $1::vector(%[1]d)) AS d FROM resource_vectors %[2]s
		ORDER BY embedding::vector(%[1]d) <#> $1::vector(%[1]d) LIMIT $2`, len(q), cond)

	hits, err := s.search(ctx, sql, args, ef)
	if err != nil {
		return nil, fmt.Errorf("pgstore.SearchResources: %w", wrap(err))
	}
	slices.SortFunc(hits, func(a, b recommender.Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(a.ResourceID, b.ResourceID)
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return nonNilSlice(hits), nil
}

// search runs a vector query at hnsw.ef_search = ef. When that is not the session's
// value, the query is sent between two SETs in one batch, one round trip: a batch runs in
// an implicit transaction, so if the query fails the first SET is rolled back with it,
// and otherwise the second restores the session's value.
func (s *Store) search(ctx context.Context, sql string, args []any, ef int) ([]recommender.Hit, error) {
	scan := func(r pgx.CollectableRow) (recommender.Hit, error) {
		var h recommender.Hit
		var d float64
		err := r.Scan(&h.ResourceID, &d)
		h.Score = float32(-d)
		return h, err
	}
	if ef == s.efSearch {
		rows, err := s.read.Query(ctx, sql, args...)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, scan)
	}
	b := &pgx.Batch{}
	b.Queue(fmt.Sprintf("SET hnsw.ef_search = %d", ef))
	b.Queue(sql, args...)
	b.Queue(fmt.Sprintf("SET hnsw.ef_search = %d", s.efSearch))
	br := s.read.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	hits, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, err
	}
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	return hits, br.Close()
}
