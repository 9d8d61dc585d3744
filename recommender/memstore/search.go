package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// vectorIndex holds the resource vectors row-major in one contiguous slice, so that a
// search streams through memory, with each row's subject and level beside it and, per
// subject, the rows to visit, so that a filtered search touches only matching rows.
type vectorIndex struct {
	dim    int
	schema int
	ids    []string
	data   []float32 // len(ids) × dim
	level  []int8    // datasets.LevelIndex of the resource's level, -1 when unknown
	row    map[string]int32
	// bySubject lists row numbers per subject, ascending.
	bySubject map[string][]int32
}

func newVectorIndex() vectorIndex {
	return vectorIndex{row: map[string]int32{}, bySubject: map[string][]int32{}}
}

// refreshMeta re-reads each row's subject and level from the catalogue, after a resource
// changed subject or level.
func (v *vectorIndex) refreshMeta(res map[string]datasets.Resource) {
	v.bySubject = map[string][]int32{}
	v.level = v.level[:0]
	for i, id := range v.ids {
		r := res[id]
		v.level = append(v.level, int8(datasets.LevelIndex(r.Level)))
		v.bySubject[r.Subject] = append(v.bySubject[r.Subject], int32(i))
	}
}

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
	next := newVectorIndex()
	next.dim, next.schema = dim, schemaVersion
	next.ids = make([]string, 0, len(ids))
	next.data = make([]float32, 0, len(ids)*dim)
	for i, id := range ids {
		if _, ok := s.res[id]; !ok {
			return fmt.Errorf("memstore.PutResourceVectors: unknown resource %q: %w", id, recommender.ErrInvalid)
		}
		if _, dup := next.row[id]; dup {
			return fmt.Errorf("memstore.PutResourceVectors: resource %q twice: %w", id, recommender.ErrInvalid)
		}
		if len(vecs[i]) != dim || dim == 0 {
			return fmt.Errorf("memstore.PutResourceVectors: vector %d of %q has dimension %d, want %d: %w", i, id, len(vecs[i]), dim, recommender.ErrInvalid)
		}
		next.row[id] = int32(i)
		next.ids = append(next.ids, id)
		next.data = append(next.data, vecs[i]...)
	}
	next.refreshMeta(s.res)
	s.vec = next
	return nil
}

// SearchResources is exact maximum inner product search: every row that passes the
// filter is scored, the best k kept in a bounded heap; ties go to the smaller id.
func (s *Store) SearchResources(ctx context.Context, q []float32, k int, f recommender.Filter) ([]recommender.Hit, error) {
	return s.searchWith(q, k, f, dot)
}

// searchWith is SearchResources with the dot-product kernel as a parameter, so that
// benchmarks compare kernels on the same scan.
func (s *Store) searchWith(q []float32, k int, f recommender.Filter, kernel func(a, b []float32) float32) ([]recommender.Hit, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := &s.vec
	if len(v.ids) == 0 || k <= 0 {
		return []recommender.Hit{}, nil
	}
	if len(q) != v.dim {
		return nil, fmt.Errorf("memstore.SearchResources: query of dimension %d, vectors have %d: %w", len(q), v.dim, recommender.ErrInvalid)
	}
	var levelMask uint32
	for _, l := range f.Levels {
		if i := datasets.LevelIndex(l); i >= 0 {
			levelMask |= 1 << i
		}
	}
	if len(f.Levels) > 0 && levelMask == 0 {
		return []recommender.Hit{}, nil
	}
	var exclude map[int32]struct{}
	if len(f.Exclude) > 0 {
		exclude = make(map[int32]struct{}, len(f.Exclude))
		for _, id := range f.Exclude {
			if r, ok := v.row[id]; ok {
				exclude[r] = struct{}{}
			}
		}
	}
	h := topK{ids: v.ids, k: k}
	visit := func(r int32) {
		if levelMask != 0 {
			l := v.level[r]
			if l < 0 || levelMask&(1<<l) == 0 {
				return
			}
		}
		if exclude != nil {
			if _, skip := exclude[r]; skip {
				return
			}
		}
		off := int(r) * v.dim
		h.offer(kernel(q, v.data[off:off+v.dim]), r)
	}
	if f.Subject != "" {
		for _, r := range v.bySubject[f.Subject] {
			visit(r)
		}
	} else {
		for r := range int32(len(v.ids)) {
			visit(r)
		}
	}
	return h.hits(), nil
}

type cand struct {
	score float32
	row   int32
}

// topK is a bounded min-heap on (score, then reversed id): its root is the worst kept
// candidate, replaced whenever a better one comes.
type topK struct {
	ids  []string
	k    int
	heap []cand
}

// worse reports whether a ranks below b.
func (t *topK) worse(a, b cand) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return t.ids[a.row] > t.ids[b.row]
}

func (t *topK) offer(score float32, row int32) {
	c := cand{score, row}
	if len(t.heap) < t.k {
		t.heap = append(t.heap, c)
		t.up(len(t.heap) - 1)
		return
	}
	if !t.worse(t.heap[0], c) {
		return
	}
	t.heap[0] = c
	t.down(0)
}

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.worse(t.heap[i], t.heap[p]) {
			return
		}
		t.heap[i], t.heap[p] = t.heap[p], t.heap[i]
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.heap)
	for {
		m, l, r := i, 2*i+1, 2*i+2
		if l < n && t.worse(t.heap[l], t.heap[m]) {
			m = l
		}
		if r < n && t.worse(t.heap[r], t.heap[m]) {
			m = r
		}
		if m == i {
			return
		}
		t.heap[i], t.heap[m] = t.heap[m], t.heap[i]
		i = m
	}
}

// hits returns the kept candidates best first.
func (t *topK) hits() []recommender.Hit {
	slices.SortFunc(t.heap, func(a, b cand) int {
		switch {
		case t.worse(b, a):
			return -1
		case t.worse(a, b):
			return 1
		}
		return strings.Compare(t.ids[a.row], t.ids[b.row])
	})
	out := make([]recommender.Hit, len(t.heap))
	for i, c := range t.heap {
		out[i] = recommender.Hit{ResourceID: t.ids[c.row], Score: c.score}
	}
	return out
}
