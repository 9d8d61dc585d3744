package memstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// online holds the profile generations and the stale and refit-pending marks (see
// recommender.ProfileStore). Guarded by Store.mu.
type online struct {
	gen        int64            // last generation handed out
	profileGen map[string]int64 // pupil -> generation of the stored profile
	marks      map[string]int64 // pupil -> generation of the stale mark
	refitGen   int64            // 0: no refit pending
}

func newOnline() online {
	return online{profileGen: map[string]int64{}, marks: map[string]int64{}}
}

func (o *online) next() int64 { o.gen++; return o.gen }

// IngestApply is Ingest with fn run before the batch becomes visible, under the same lock.
func (s *Store) IngestApply(ctx context.Context, d *datasets.Dataset, fn recommender.ApplyFunc) (recommender.Changed, error) {
	if d == nil {
		return recommender.Changed{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkTombstones(d); err != nil {
		return recommender.Changed{}, fmt.Errorf("memstore.Ingest: %w", err)
	}
	b, err := s.validate(d)
	if err != nil {
		return recommender.Changed{}, fmt.Errorf("memstore.Ingest: %w", err)
	}
	fresh := s.allNew(d)
	ch := s.apply(b)
	s.applyExtras(b)
	if ch.Catalogue {
		s.on.refitGen = s.on.next()
	}
	if len(ch.Students) == 0 {
		return ch, nil
	}
	done := map[string]bool{}
	if fn != nil {
		delta := &recommender.Delta{Batch: d, Changed: ch, Fresh: fresh, Pupils: make(map[string]recommender.PupilDelta, len(ch.Students))}
		for _, id := range ch.Students {
			st, ok := s.students[id]
			if !ok {
				continue
			}
			pd := recommender.PupilDelta{Student: st, Stale: s.on.marks[id] != 0}
			if p, ok := s.profiles[id]; ok {
				cp := copyProfile(p)
				pd.Profile = &cp
			}
			delta.Pupils[id] = pd
		}
		for _, p := range fn(delta) {
			pd, ok := delta.Pupils[p.StudentID]
			if !ok {
				continue // not a pupil of this batch: the store only writes what it locked
			}
			s.writeProfile(p)
			done[p.StudentID] = !pd.Stale
		}
	}
	for _, id := range ch.Students {
		if _, ok := s.students[id]; !ok {
			continue
		}
		if done[id] {
			delete(s.on.marks, id)
		} else {
			s.on.marks[id] = s.on.next()
		}
	}
	return ch, nil
}

// allNew reports whether no row of d is stored yet (checked before apply).
func (s *Store) allNew(d *datasets.Dataset) bool {
	return noneStored(s.comps, d.Competencies, func(x *datasets.Competency) string { return x.ID }) &&
		noneStored(s.res, d.Resources, func(x *datasets.Resource) string { return x.ID }) &&
		noneStored(s.students, d.Students, func(x *datasets.Student) string { return x.ID }) &&
		noneStored(s.lessons, d.Lessons, func(x *datasets.Lesson) string { return x.ID }) &&
		noneStored(s.grades, d.Grades, func(x *datasets.Grade) string { return x.ID }) &&
		noneStored(s.absences, d.Absences, func(x *datasets.Absence) string { return x.ID }) &&
		noneStored(s.statements, d.Statements, func(x *datasets.Statement) string { return x.ID })
}

// noneStored reports whether no row's id is a key of stored.
func noneStored[V, R any](stored map[string]V, rows []R, id func(*R) string) bool {
	for i := range rows {
		if _, ok := stored[id(&rows[i])]; ok {
			return false
		}
	}
	return true
}

// writeProfile stores p and bumps its generation. Callers hold mu for writing.
func (s *Store) writeProfile(p features.Profile) {
	s.profiles[p.StudentID] = copyProfile(p)
	s.on.profileGen[p.StudentID] = s.on.next()
	s.bump(p.StudentID) // answers follow the profile
}

// ProfileVersions returns the version of each id; unknown pupils get the zero version.
func (s *Store) ProfileVersions(ctx context.Context, ids []string) (map[string]recommender.ProfileVersion, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]recommender.ProfileVersion, len(ids))
	for _, id := range ids {
		out[id] = recommender.ProfileVersion{Profile: s.on.profileGen[id], Mark: s.on.marks[id]}
	}
	return out, nil
}

// PutProfilesIf writes the profiles whose pupils are still at their version.
func (s *Store) PutProfilesIf(ctx context.Context, ps []recommender.VersionedProfile) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lost []string
	for _, vp := range ps {
		id := vp.Profile.StudentID
		if _, ok := s.students[id]; !ok {
			continue
		}
		now := recommender.ProfileVersion{Profile: s.on.profileGen[id], Mark: s.on.marks[id]}
		if now != vp.Version {
			lost = append(lost, id)
			s.on.marks[id] = s.on.next()
			continue
		}
		s.writeProfile(vp.Profile)
		delete(s.on.marks, id)
	}
	slices.Sort(lost)
	return lost, nil
}

// MarkStale marks known pupils stale with a fresh generation.
func (s *Store) MarkStale(ctx context.Context, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.students[id]; ok {
			s.on.marks[id] = s.on.next()
		}
	}
	return nil
}

// StalePupils returns up to limit marked pupils, oldest mark first.
func (s *Store) StalePupils(ctx context.Context, limit int) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.on.marks))
	for id := range s.on.marks {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return int(s.on.marks[a] - s.on.marks[b]) })
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, nil
}

// RefitPending returns the refit-pending generation, 0 when none.
func (s *Store) RefitPending(ctx context.Context) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.on.refitGen, nil
}

// MarkRefitPending sets the refit-pending mark with a fresh generation.
func (s *Store) MarkRefitPending(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on.refitGen = s.on.next()
	return s.on.refitGen, nil
}

// ClearRefitPending removes the mark if it is still at gen.
func (s *Store) ClearRefitPending(ctx context.Context, gen int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on.refitGen == gen {
		s.on.refitGen = 0
	}
	return nil
}
