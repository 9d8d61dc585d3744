package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// vectorIndex holds the resource vectors row-major in one contiguous slice, rows grouped
// by subject then level, so that a search streams through memory and a filtered one
// visits only the runs of rows that match.
type vectorIndex struct {
	dim    int
	schema int
	ids    []string
	data   []float32 // len(ids) × dim
	row    map[string]int32
	runs   []run // in row order, covering every row
}

// run is the rows lo..hi-1, which share a subject and a level.
type run struct {
	subject string
	level   int8 // datasets.LevelIndex, -1 when the level is unknown
	lo, hi  int32
}

func newVectorIndex() vectorIndex { return vectorIndex{row: map[string]int32{}} }

// buildVectorIndex packs validated rows grouped by their resource's subject and level
// (then in the given order).
func buildVectorIndex(res map[string]datasets.Resource, schema, dim int, ids []string, vec func(i int) []float32) vectorIndex {
	type key struct {
		subject string
		level   int8
	}
	keyOf := func(i int) key {
		r := res[ids[i]]
		return key{r.Subject, int8(datasets.LevelIndex(r.Level))}
	}
	order := make([]int, len(ids))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ka, kb := keyOf(a), keyOf(b)
		if c := strings.Compare(ka.subject, kb.subject); c != 0 {
			return c
		}
		return int(ka.level) - int(kb.level)
	})
	v := newVectorIndex()
	v.dim, v.schema = dim, schema
	v.ids = make([]string, len(ids))
	v.data = make([]float32, 0, len(ids)*dim)
	for r, i := range order {
		id := ids[i]
		v.ids[r] = id
		v.row[id] = int32(r)
		v.data = append(v.data, vec(i)...)
		k := keyOf(i)
		if n := len(v.runs); n > 0 && v.runs[n-1].subject == k.subject && v.runs[n-1].level == k.level {
			v.runs[n-1].hi++
			continue
		}
		v.runs = append(v.runs, run{subject: k.subject, level: k.level, lo: int32(r), hi: int32(r) + 1})
	}
	return v
}

// refreshMeta re-packs the rows after resources changed, since a resource may have moved
// to another subject or level.
func (v *vectorIndex) refreshMeta(res map[string]datasets.Resource) {
	if len(v.ids) == 0 {
		return
	}
	old := *v
	*v = buildVectorIndex(res, old.schema, old.dim, old.ids, func(i int) []float32 {
		return old.data[i*old.dim : (i+1)*old.dim]
	})
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
	s.vec = buildVectorIndex(s.res, schemaVersion, dim, ids, func(i int) []float32 { return vecs[i] })
	return nil
}

// SearchResources is exact maximum inner product search: every row that passes the
// filter is scored, the best k kept in a bounded heap; ties go to the smaller id.
func (s *Store) SearchResources(ctx context.Context, q []float32, k int, f recommender.Filter) ([]recommender.Hit, error) {
	return s.searchWith(q, k, f, scoreRows)
}

// searchWith is SearchResources with the scoring kernel as a parameter, so that
// benchmarks compare kernels on the same scan.
func (s *Store) searchWith(q []float32, k int, f recommender.Filter, kernel rowScorer) ([]recommender.Hit, error) {
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
	buf := scratch.Get().(*[]float32)
	defer scratch.Put(buf)
	for _, rn := range v.runs {
		if f.Subject != "" && rn.subject != f.Subject {
			continue
		}
		if levelMask != 0 && (rn.level < 0 || levelMask&(1<<rn.level) == 0) {
			continue
		}
		n := int(rn.hi - rn.lo)
		if cap(*buf) < n {
			*buf = make([]float32, n)
		}
		scores := (*buf)[:n]
		kernel(q, v.data[int(rn.lo)*v.dim:int(rn.hi)*v.dim], scores)
		for i, sc := range scores {
			r := rn.lo + int32(i)
			if exclude != nil {
				if _, skip := exclude[r]; skip {
					continue
				}
			}
			h.offer(sc, r)
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
