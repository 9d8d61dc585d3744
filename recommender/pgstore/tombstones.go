package pgstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// keyCheckText is hashed under the tombstone key to recognise it later.
const keyCheckText = "parcours tombstone key check"

// tombstoneKey returns the key to hash tombstones with: configured, or the database's
// own (made once). Either way it must be the key the stored tombstones were made with.
func tombstoneKey(ctx context.Context, db *pgxpool.Pool, configured []byte) ([]byte, error) {
	var own, check []byte
	err := db.QueryRow(ctx, `SELECT own_key, key_check FROM tombstone_key`).Scan(&own, &check)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		key := configured
		if len(key) == 0 {
			own = make([]byte, 32)
			_, _ = rand.Read(own)
			key = own
		}
		check = recommender.TombstoneHash(key, keyCheckText)
		// A concurrent first start may have written the row: then read it back.
		if _, err := db.Exec(ctx, `INSERT INTO tombstone_key (own_key, key_check) VALUES ($1, $2) ON CONFLICT DO NOTHING`, nullIfEmpty(own), check); err != nil {
			return nil, wrap(err)
		}
		if err := db.QueryRow(ctx, `SELECT own_key, key_check FROM tombstone_key`).Scan(&own, &check); err != nil {
			return nil, wrap(err)
		}
	case err != nil:
		return nil, wrap(err)
	}
	key := configured
	if len(key) == 0 {
		key = own
	}
	if len(key) == 0 || !bytes.Equal(recommender.TombstoneHash(key, keyCheckText), check) {
		return nil, fmt.Errorf("%w: the tombstone key (PARCOURS_TOMBSTONE_KEY) is not the one this database's tombstones were made with; erased pupils would no longer be refused", recommender.ErrInvalid)
	}
	return key, nil
}

func nullIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// checkTombstones refuses the batch's first row about an erased pupil. Callers hold the
// write lock, which DeleteStudent takes too.
func (s *Store) checkTombstones(ctx context.Context, tx pgx.Tx, b *datasets.Dataset) error {
	rows := recommender.PupilRows(b)
	if len(rows) == 0 {
		return nil
	}
	// One keyed hash per pupil, not per row (a chunk of grades holds about 90 rows per
	// pupil).
	firstRow := map[string]int{} // pupil -> first row
	byHash := map[string]int{}   // hash -> first row
	hashes := make([][]byte, 0, 16)
	for i, r := range rows {
		if _, ok := firstRow[r.StudentID]; ok {
			continue
		}
		firstRow[r.StudentID] = i
		h := recommender.TombstoneHash(s.tombKey, r.StudentID)
		if _, ok := byHash[string(h)]; !ok {
			byHash[string(h)] = i
			hashes = append(hashes, h)
		}
	}
	q, err := tx.Query(ctx, `SELECT hash FROM tombstones WHERE hash = ANY($1)`, hashes)
	if err != nil {
		return wrap(err)
	}
	found, err := pgx.CollectRows(q, pgx.RowTo[[]byte])
	if err != nil {
		return wrap(err)
	}
	if len(found) == 0 {
		return nil
	}
	first := len(rows)
	for _, h := range found {
		first = min(first, byHash[string(h)])
	}
	return recommender.ErrTombstoned(rows[first])
}

// tombstoned reports whether id is erased under a tombstone.
func (s *Store) tombstoned(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tombstones WHERE hash = $1)`, recommender.TombstoneHash(s.tombKey, id)).Scan(&ok)
	return ok, wrap(err)
}

// RemoveTombstone lifts the tombstone of id; ErrNotFound when there is none.
func (s *Store) RemoveTombstone(ctx context.Context, id string) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM tombstones WHERE hash = $1`, recommender.TombstoneHash(s.tombKey, id))
	if err != nil {
		return fmt.Errorf("pgstore.RemoveTombstone: %w", wrap(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore.RemoveTombstone: %w", recommender.ErrNotFound)
	}
	return nil
}
