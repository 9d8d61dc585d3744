package recommender

import (
	"context"
	"fmt"
	"slices"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// nNeighbours is how many nearest consenting classmates-in-level a pupil's neighbour
// candidates come from.
const nNeighbours = 20

// neighbours finds, when the store can search student vectors (StudentSearcher), the
// consenting pupils of the same level and school whose student vectors are nearest the
// pupil's, and gives each resource the share of them who used it. A store without the
// capability, or a pupil without a vector, gets none.
func (e *Engine) neighbours(ctx context.Context, s *snapshot, p *pupil) error {
	ss, ok := e.store.(StudentSearcher)
	if !ok || !e.cfg.Neighbours || len(p.prof.Vector) == 0 || len(p.prof.Vector) != s.layout.Dim() {
		return nil
	}
	hits, err := ss.SearchStudents(ctx, p.prof.Vector, nNeighbours, StudentFilter{Level: p.st.Level, SchoolID: p.st.SchoolID, Exclude: p.st.ID})
	if err != nil {
		return fmt.Errorf("search students: %w", storeErr(err))
	}
	if len(hits) == 0 {
		return nil
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.StudentID
	}
	ps, err := e.store.Profiles(ctx, ids)
	if err != nil {
		return fmt.Errorf("neighbour profiles: %w", storeErr(err))
	}
	used := make([][]string, len(ps))
	for i := range ps {
		used[i] = ps[i].Usage.Seen
	}
	p.neigh = usageShares(s.cat, used)
	return nil
}

// usageShares is, per resource, the share of the given pupils who used it.
func usageShares(cat *datasets.Catalogue, used [][]string) map[int32]float64 {
	if len(used) == 0 {
		return nil
	}
	out := map[int32]float64{}
	w := 1 / float64(len(used))
	for _, u := range used {
		for _, id := range u {
			if i, ok := cat.ResourceIndex(id); ok {
				out[int32(i)] += w
			}
		}
	}
	return out
}

// sampleNeighbours is neighbours for the re-ranker's fit: the nearest among the other
// sampled pupils of the same level and school, by an exact scan of their vectors as of
// the cut (the fit has no store of past vectors to search).
func sampleNeighbours(cat *datasets.Catalogue, profs []*features.Profile, vecs [][]float32, i int) map[int32]float64 {
	type hit struct {
		j int
		s float32
	}
	var hs []hit
	me := profs[i]
	for j, o := range profs {
		if j == i || o.Level != me.Level || o.SchoolID != me.SchoolID || len(vecs[j]) != len(vecs[i]) {
			continue
		}
		var d float32
		for k, x := range vecs[i] {
			d += x * vecs[j][k]
		}
		hs = append(hs, hit{j, d})
	}
	sortHits(hs, func(a, b hit) bool {
		if a.s != b.s {
			return a.s > b.s
		}
		return profs[a.j].StudentID < profs[b.j].StudentID
	})
	var used [][]string
	for _, h := range hs[:min(nNeighbours, len(hs))] {
		used = append(used, profs[h.j].Usage.Seen)
	}
	return usageShares(cat, used)
}

func sortHits[T any](xs []T, less func(a, b T) bool) {
	slices.SortFunc(xs, func(a, b T) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	})
}

// topShares adds the resources most used by the pupil's neighbours (allowed, not
// completed, of a fitting type) to the candidates.
func (e *Engine) topShares(s *snapshot, p *pupil, shares map[int32]float64, allowed func(*datasets.Resource) bool, cs *candSet) {
	type sh struct {
		i int32
		v float64
	}
	var top []sh
	for i, v := range shares {
		r := &s.cat.Resources[i]
		if allowed(r) && !p.completed[r.ID] && e.typeFits(p, r) {
			top = append(top, sh{i, v})
		}
	}
	sortHits(top, func(a, b sh) bool {
		if a.v != b.v {
			return a.v > b.v
		}
		return a.i < b.i
	})
	for _, t := range top[:min(len(top), e.cfg.MaxCandidates/5)] {
		cs.add(int(t.i))
	}
}
