package offline

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
)

// coMatrix is item-to-item co-usage among consenting pupils: for each resource, the
// cosine of co-usage counts (pupils who used both, over each pupil's latest coHistory
// training resources) with every practice resource, in compressed rows. Built once and
// shared, read-only, by every co-usage run.
type coMatrix struct {
	rowStart []int32 // len = resources+1
	col      []int32
	val      []float32
}

const coHistory = 30

func newCoMatrix(w *world) *coMatrix {
	n := len(w.cat.Resources)
	diag := make([]float64, n)
	var pairs []uint64 // a<<32 | b, one per pupil who used both
	ids := make([]string, 0, len(w.history))
	for id := range w.history {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	idx := make([]int32, 0, coHistory)
	for _, id := range ids {
		h := w.history[id]
		idx = idx[:0]
		for _, r := range h[max(0, len(h)-coHistory):] {
			if i, ok := w.cat.ResourceIndex(r); ok {
				idx = append(idx, int32(i))
			}
		}
		for _, a := range idx {
			diag[a]++
			for _, b := range idx {
				if a != b && practice(&w.cat.Resources[b]) {
					pairs = append(pairs, uint64(a)<<32|uint64(b))
				}
			}
		}
	}
	slices.Sort(pairs)
	m := &coMatrix{rowStart: make([]int32, n+1)}
	for i := 0; i < len(pairs); {
		j := i
		for j < len(pairs) && pairs[j] == pairs[i] {
			j++
		}
		a, b := int32(pairs[i]>>32), int32(pairs[i]&0xffffffff)
		m.col = append(m.col, b)
		m.val = append(m.val, float32(float64(j-i)/math.Sqrt(diag[a]*diag[b])))
		m.rowStart[a+1]++
		i = j
	}
	for a := 0; a < n; a++ {
		m.rowStart[a+1] += m.rowStart[a]
	}
	return m
}

// coUsagePolicy sums the co-usage rows of the pupil's latest used resources. A pupil
// without consent has no history it may read, and like a pupil without any, gets the
// level-and-subject popularity order, which also fills lists it cannot.
type coUsagePolicy struct {
	w        *world
	r        *run
	m        *coMatrix
	hist     map[string][]string // observed since the split, per consenting pupil
	fallback *levelSubjectPolicy
	score    []float32
}

func newCoUsage(w *world, r *run, m *coMatrix, fb *levelSubjectPolicy) *coUsagePolicy {
	return &coUsagePolicy{w: w, r: r, m: m, fallback: fb, hist: map[string][]string{}, score: make([]float32, len(w.cat.Resources))}
}

func (p *coUsagePolicy) Name() string { return "co_usage" }

func (p *coUsagePolicy) history(id string) []string {
	if !p.w.consent(id) {
		return nil
	}
	h := append(slices.Clone(p.w.history[id]), p.hist[id]...)
	return h[max(0, len(h)-coHistory):]
}

func (p *coUsagePolicy) Recommend(ctx context.Context, id string, k int) ([]string, error) {
	h := p.history(id)
	if len(h) == 0 {
		return p.fallback.Recommend(ctx, id, k)
	}
	var touched []int32
	for _, r := range h {
		i, ok := p.w.cat.ResourceIndex(r)
		if !ok {
			continue
		}
		for j := p.m.rowStart[i]; j < p.m.rowStart[i+1]; j++ {
			c := p.m.col[j]
			if p.score[c] == 0 {
				touched = append(touched, c)
			}
			p.score[c] += p.m.val[j]
		}
	}
	cands := touched[:0:0]
	for _, c := range touched {
		if p.r.ok(id, p.w.cat.Resources[c].ID) {
			cands = append(cands, c)
		}
	}
	slices.SortFunc(cands, func(a, b int32) int {
		if c := cmp.Compare(p.score[b], p.score[a]); c != 0 {
			return c
		}
		return cmp.Compare(p.w.cat.Resources[a].ID, p.w.cat.Resources[b].ID)
	})
	out := make([]string, 0, k)
	for _, c := range cands[:min(k, len(cands))] {
		out = append(out, p.w.cat.Resources[c].ID)
	}
	for _, c := range touched {
		p.score[c] = 0
	}
	if len(out) < k {
		more, err := p.fallback.Recommend(ctx, id, k+len(out))
		if err != nil {
			return nil, err
		}
		for _, m := range more {
			if len(out) < k && !contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

func (p *coUsagePolicy) Observe(_ context.Context, b *datasets.Dataset) error {
	for _, s := range b.Statements {
		if !p.w.consent(s.StudentID) {
			continue
		}
		h := p.hist[s.StudentID]
		if i := slices.Index(h, s.ObjectID); i >= 0 {
			h = slices.Delete(h, i, i+1)
		}
		p.hist[s.StudentID] = append(h, s.ObjectID)
	}
	return nil
}

// oraclePolicy knows the truth: it lists the eligible items with the largest exact
// expected gain under the simulator variant being run (the learning peak, the
// prerequisites and the pupil's true abilities included). It is the best a policy could
// do one week at a time: a myopic upper reference, not a bound over several weeks. It
// personalises for every pupil, consenting or not, because it is not a policy anyone
// could serve.
type oraclePolicy struct {
	w   *world
	r   *run
	sim *synth.Simulator
}

func (p *oraclePolicy) Name() string { return "oracle" }
func (p *oraclePolicy) Recommend(_ context.Context, id string, k int) ([]string, error) {
	type sc struct {
		id string
		g  float64
	}
	var cands []sc
	for _, rid := range p.w.candidates(id) {
		if !p.r.ok(id, rid) {
			continue
		}
		g, err := p.sim.ExpectedGain(id, rid)
		if err != nil {
			return nil, nil // a pupil the simulator does not restore: no truth to act on
		}
		cands = append(cands, sc{rid, g})
	}
	slices.SortFunc(cands, func(a, b sc) int {
		if c := cmp.Compare(b.g, a.g); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	out := make([]string, 0, k)
	for _, c := range cands[:min(k, len(cands))] {
		out = append(out, c.id)
	}
	return out, nil
}
