// Package vecindex is exact maximum-inner-product search over resource vectors held in
// memory: one contiguous []float32, rows grouped by subject then level, so that a search
// streams through memory and a filtered one visits only the runs of rows that match.
//
// It is the search of the embedded store, and the per-replica mirror of the PostgreSQL
// store's resource vectors (pgstore keeps it in step with LISTEN/NOTIFY; PostgreSQL
// stays the store of record). An Index is immutable once built and safe for concurrent
// searches; it never does I/O.
package vecindex

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// Index holds the vectors of one schema version, all of one dimension.
type Index struct {
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

// Meta is what a filter needs to know of a resource.
type Meta struct {
	Subject, Level string
}

// Build packs n vectors of dimension dim: ids[i]'s vector is vec(i) and its subject and
// level meta(i). Vectors are copied. Ids must be distinct and every vector of length dim
// (programmer errors: callers validate first).
func Build(schema, dim int, ids []string, meta func(i int) Meta, vec func(i int) []float32) *Index {
	type key struct {
		subject string
		level   int8
	}
	keys := make([]key, len(ids))
	for i := range ids {
		m := meta(i)
		keys[i] = key{m.Subject, int8(datasets.LevelIndex(m.Level))}
	}
	order := make([]int, len(ids))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := strings.Compare(keys[a].subject, keys[b].subject); c != 0 {
			return c
		}
		return int(keys[a].level) - int(keys[b].level)
	})
	v := &Index{dim: dim, schema: schema, ids: make([]string, len(ids)), row: make(map[string]int32, len(ids))}
	v.data = make([]float32, 0, len(ids)*dim)
	for r, i := range order {
		id := ids[i]
		v.ids[r] = id
		v.row[id] = int32(r)
		x := vec(i)
		if len(x) != dim {
			panic(fmt.Sprintf("vecindex.Build: vector of %q has dimension %d, want %d", id, len(x), dim))
		}
		v.data = append(v.data, x...)
		k := keys[i]
		if n := len(v.runs); n > 0 && v.runs[n-1].subject == k.subject && v.runs[n-1].level == k.level {
			v.runs[n-1].hi++
			continue
		}
		v.runs = append(v.runs, run{subject: k.subject, level: k.level, lo: int32(r), hi: int32(r) + 1})
	}
	return v
}

// Regroup returns the index with the rows grouped by new metadata (a resource may have
// moved to another subject or level), the vectors unchanged.
func (v *Index) Regroup(meta func(id string) Meta) *Index {
	return Build(v.schema, v.dim, v.ids, func(i int) Meta { return meta(v.ids[i]) }, v.Vector)
}

// Len is the number of vectors; Dim their dimension; Schema their schema version.
func (v *Index) Len() int    { return len(v.ids) }
func (v *Index) Dim() int    { return v.dim }
func (v *Index) Schema() int { return v.schema }

// IDs returns the ids in row order; callers must not modify it.
func (v *Index) IDs() []string { return v.ids }

// Vector returns row i's vector (sharing the index's memory: read only).
func (v *Index) Vector(i int) []float32 { return v.data[i*v.dim : (i+1)*v.dim] }

// Has reports whether id has a vector.
func (v *Index) Has(id string) bool { _, ok := v.row[id]; return ok }

// Search is exact maximum inner product search: every row that passes the filter is
// scored, the best k kept in a bounded heap; ties go to the smaller id. A query of
// another dimension is ErrInvalid.
func (v *Index) Search(q []float32, k int, f recommender.Filter) ([]recommender.Hit, error) {
	return v.SearchWith(q, k, f, ScoreRows)
}

// SearchWith is Search with the scoring kernel as a parameter, so that benchmarks
// compare kernels on the same scan.
func (v *Index) SearchWith(q []float32, k int, f recommender.Filter, kernel RowScorer) ([]recommender.Hit, error) {
	if v == nil || len(v.ids) == 0 || k <= 0 {
		return []recommender.Hit{}, nil
	}
	if len(q) != v.dim {
		return nil, fmt.Errorf("vecindex.Search: query of dimension %d, vectors have %d: %w", len(q), v.dim, recommender.ErrInvalid)
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

// RowScorer writes into scores the inner product of q with each row of the row-major
// matrix rows (len(scores) rows of len(q) columns). A size mismatch is a programmer
// error (panic): the scan slices whole runs of rows.
type RowScorer func(q, rows, scores []float32)

// ScoreRows is the search kernel: one gonum Gemv (blas32, SSE assembly on amd64) over a
// contiguous run of rows, the idiomatic call for a matrix-vector product (memstore's
// BenchmarkSearch50k compares it with one blas32.Dot per row and a hand-unrolled loop).
func ScoreRows(q, rows, scores []float32) {
	if len(rows) != len(q)*len(scores) {
		panic("vecindex: ScoreRows with a matrix of the wrong size")
	}
	if len(scores) == 0 {
		return
	}
	m := blas32.General{Rows: len(scores), Cols: len(q), Stride: len(q), Data: rows}
	blas32.Gemv(blas.NoTrans, 1, m, blas32.Vector{N: len(q), Inc: 1, Data: q}, 0, blas32.Vector{N: len(scores), Inc: 1, Data: scores})
}

// scratch holds per-search score buffers (one run of rows at most), so that a search
// allocates nothing proportional to the catalogue.
var scratch = sync.Pool{New: func() any { return new([]float32) }}

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
