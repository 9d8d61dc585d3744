package recommender

import (
	"math"
	"sort"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// Co-usage sizes: each consenting pupil's latest coHistory distinct resources count as
// used together; each resource keeps its coNeighbours most co-used others.
const (
	coHistory    = 30
	coNeighbours = 12
	// coMinUsers is the fewest pupils who must have used both resources for the pair to
	// count: rarer pairs say more about those pupils than about the resources.
	coMinUsers = 2
)

// coHit is one co-used resource and the cosine of the two resources' usage.
type coHit struct {
	ID string  `json:"r"`
	S  float32 `json:"s"`
}

// buildCoUsage computes item-to-item co-usage from the consenting pupils' statements
// dated before the cut (all when the cut is zero): the cosine between resources of the
// number of pupils who used both among their latest coHistory distinct resources. Counts
// only: no pupil id survives.
func buildCoUsage(cat *datasets.Catalogue, pupils []features.PupilEvents, cut time.Time) map[string][]coHit {
	return buildCoUsageFrom(cat, features.SliceSource(pupils), cut)
}

// buildCoUsageFrom is buildCoUsage over a source (one pass); src's errors are its
// owner's to report.
func buildCoUsageFrom(cat *datasets.Catalogue, src features.PupilSource, cut time.Time) map[string][]coHit {
	n := len(cat.Resources)
	rows := make([]map[int32]float32, n)
	diag := make([]float32, n)
	var hist []int32
	_ = src(func(ev *features.PupilEvents) error {
		hist = recentDistinct(cat, ev.Statements, cut, hist[:0])
		for _, a := range hist {
			diag[a]++
			if rows[a] == nil {
				rows[a] = map[int32]float32{}
			}
			for _, b := range hist {
				if a != b {
					rows[a][b]++
				}
			}
		}
		return nil
	})
	out := map[string][]coHit{}
	type pair struct {
		b int32
		s float32
	}
	var ps []pair
	for a, row := range rows {
		ps = ps[:0]
		for b, c := range row {
			if c < coMinUsers {
				continue
			}
			ps = append(ps, pair{b, c / float32(math.Sqrt(float64(diag[a])*float64(diag[b])))})
		}
		if len(ps) == 0 {
			continue
		}
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].s != ps[j].s {
				return ps[i].s > ps[j].s
			}
			return cat.Resources[ps[i].b].ID < cat.Resources[ps[j].b].ID
		})
		hits := make([]coHit, 0, min(coNeighbours, len(ps)))
		for _, p := range ps[:min(coNeighbours, len(ps))] {
			hits = append(hits, coHit{ID: cat.Resources[p.b].ID, S: p.s})
		}
		out[cat.Resources[a].ID] = hits
	}
	return out
}

// recentDistinct appends to dst the catalogue indexes of the latest coHistory distinct
// resources of the statements (in time order) dated before cut (any when cut is zero).
func recentDistinct(cat *datasets.Catalogue, stmts []datasets.Statement, cut time.Time, dst []int32) []int32 {
	seen := map[int32]bool{}
	for i := len(stmts) - 1; i >= 0 && len(dst) < coHistory; i-- {
		s := &stmts[i]
		if !cut.IsZero() && !s.Timestamp.Before(cut) {
			continue
		}
		j, ok := cat.ResourceIndex(s.ObjectID)
		if !ok || seen[int32(j)] {
			continue
		}
		seen[int32(j)] = true
		dst = append(dst, int32(j))
	}
	return dst
}

// coIndex is co-usage by catalogue index, for requests.
type coIndex [][]coEdge

type coEdge struct {
	to int32
	s  float32
}

func newCoIndex(cat *datasets.Catalogue, co map[string][]coHit) coIndex {
	ix := make(coIndex, len(cat.Resources))
	for id, hits := range co {
		a, ok := cat.ResourceIndex(id)
		if !ok {
			continue
		}
		for _, h := range hits {
			if b, ok := cat.ResourceIndex(h.ID); ok {
				ix[a] = append(ix[a], coEdge{int32(b), h.S})
			}
		}
	}
	return ix
}

// scores sums, over the resources the pupil used, their co-usage rows: how strongly
// each other resource goes with what the pupil did.
func (ix coIndex) scores(cat *datasets.Catalogue, used []string) map[int32]float32 {
	if len(ix) == 0 {
		return nil
	}
	out := map[int32]float32{}
	for _, id := range used {
		a, ok := cat.ResourceIndex(id)
		if !ok || a >= len(ix) {
			continue
		}
		for _, e := range ix[a] {
			out[e.to] += e.s
		}
	}
	return out
}
