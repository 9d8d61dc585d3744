package memstore

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// SetTombstoneKey sets the HMAC key of tombstones (recommender.Tombstones); a new store
// has a random one, which is enough for a store that lives as long as its process. Call
// it before the first erasure.
func (s *Store) SetTombstoneKey(key []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tombKey = append([]byte(nil), key...)
}

func randomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails (it panics on a broken system)
	return k
}

func (s *Store) tombHash(id string) string { return string(recommender.TombstoneHash(s.tombKey, id)) }

// checkTombstones refuses the batch's first row about an erased pupil. Callers hold s.mu.
func (s *Store) checkTombstones(d *datasets.Dataset) error {
	if len(s.tombstones) == 0 {
		return nil
	}
	for _, r := range recommender.PupilRows(d) {
		if _, ok := s.tombstones[s.tombHash(r.StudentID)]; ok {
			return recommender.ErrTombstoned(r)
		}
	}
	return nil
}

// RemoveTombstone lifts the tombstone of id; ErrNotFound when there is none.
func (s *Store) RemoveTombstone(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.tombHash(id)
	if _, ok := s.tombstones[h]; !ok {
		return fmt.Errorf("memstore.RemoveTombstone: %w", recommender.ErrNotFound)
	}
	delete(s.tombstones, h)
	return nil
}
