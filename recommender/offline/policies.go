package offline

import (
	"cmp"
	"context"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// Policy ranks resources for a pupil. Every policy, Parcours included, is scored
// through this interface.
type Policy interface {
	Name() string
	Recommend(ctx context.Context, pupil string, k int) ([]string, error)
}

// Observer is a policy that learns from what pupils then do (the simulation feeds it
// each week's statements).
type Observer interface {
	Observe(ctx context.Context, statements []datasets.Statement) error
}

// world is what the baselines know: the catalogue, the pupils, and the training usage.
type world struct {
	cat      *datasets.Catalogue
	students map[string]datasets.Student
	byLevel  map[string][]int // resource indices per level
	users    map[string]int   // training pupils who used each resource
	pupils   int              // training pupils with usage
	levelUse map[string]map[string]int
	history  map[string][]string // per pupil, used resources in training, latest last, distinct
	success  map[string]map[string]bool
}

func newWorld(cat *datasets.Catalogue, sp *Split) *world {
	w := &world{cat: cat, students: map[string]datasets.Student{}, byLevel: map[string][]int{},
		users: map[string]int{}, levelUse: map[string]map[string]int{}, history: map[string][]string{}, success: sp.TrainSuccess}
	for _, s := range sp.Train.Students {
		w.students[s.ID] = s
	}
	for i, r := range cat.Resources {
		w.byLevel[r.Level] = append(w.byLevel[r.Level], i)
	}
	stmts := slices.Clone(sp.Train.Statements)
	slices.SortStableFunc(stmts, func(a, b datasets.Statement) int { return a.Timestamp.Compare(b.Timestamp) })
	used := map[string]map[string]bool{}
	for _, s := range stmts {
		if _, ok := cat.Resource(s.ObjectID); !ok {
			continue
		}
		if used[s.StudentID] == nil {
			used[s.StudentID] = map[string]bool{}
		}
		if used[s.StudentID][s.ObjectID] {
			h := w.history[s.StudentID]
			i := slices.Index(h, s.ObjectID)
			w.history[s.StudentID] = append(slices.Delete(h, i, i+1), s.ObjectID)
			continue
		}
		used[s.StudentID][s.ObjectID] = true
		w.history[s.StudentID] = append(w.history[s.StudentID], s.ObjectID)
		w.users[s.ObjectID]++
		lv := w.students[s.StudentID].Level
		if w.levelUse[lv] == nil {
			w.levelUse[lv] = map[string]int{}
		}
		w.levelUse[lv][s.ObjectID]++
	}
	w.pupils = len(used)
	return w
}

// done tracks, per policy, what each pupil already succeeded on: training successes
// plus the ones observed in simulation. Policies never re-recommend those.
type done struct {
	base  map[string]map[string]bool
	extra map[string]map[string]bool
}

func newDone(base map[string]map[string]bool) *done {
	return &done{base: base, extra: map[string]map[string]bool{}}
}

func (d *done) has(p, r string) bool { return d.base[p][r] || d.extra[p][r] }

func (d *done) observe(stmts []datasets.Statement) {
	for _, s := range stmts {
		if ok, has := s.Outcome(); ok && has {
			add(d.extra, s.StudentID, s.ObjectID)
		}
	}
}

// pick returns the first k ids of order the pupil has not succeeded on.
func (d *done) pick(p string, order []string, k int) []string {
	out := make([]string, 0, k)
	for _, id := range order {
		if len(out) == k {
			break
		}
		if !d.has(p, id) {
			out = append(out, id)
		}
	}
	return out
}

// byUse sorts ids by use count, most used first, ties by id.
func byUse(ids []string, use map[string]int) []string {
	slices.SortFunc(ids, func(a, b string) int {
		if c := cmp.Compare(use[b], use[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return ids
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// randomPolicy draws resources of the pupil's level uniformly, seeded per pupil and call.
type randomPolicy struct {
	w     *world
	d     *done
	seed  uint64
	calls map[string]uint64
}

func (p *randomPolicy) Name() string { return "random" }
func (p *randomPolicy) Recommend(_ context.Context, id string, k int) ([]string, error) {
	cands := p.w.byLevel[p.w.students[id].Level]
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = p.w.cat.Resources[c].ID
	}
	rng := rand.New(rand.NewPCG(p.seed^hashString(id), p.calls[id]))
	p.calls[id]++
	rng.Shuffle(len(ids), func(a, b int) { ids[a], ids[b] = ids[b], ids[a] })
	return p.d.pick(id, ids, k), nil
}
func (p *randomPolicy) Observe(_ context.Context, s []datasets.Statement) error {
	p.d.observe(s)
	return nil
}

// popularPolicy recommends the resources most pupils used in training, whatever the level.
type popularPolicy struct {
	d     *done
	order []string
}

func newPopular(w *world, d *done) *popularPolicy {
	ids := make([]string, len(w.cat.Resources))
	for i, r := range w.cat.Resources {
		ids[i] = r.ID
	}
	return &popularPolicy{d: d, order: byUse(ids, w.users)}
}
func (p *popularPolicy) Name() string { return "popularity" }
func (p *popularPolicy) Recommend(_ context.Context, id string, k int) ([]string, error) {
	return p.d.pick(id, p.order, k), nil
}
func (p *popularPolicy) Observe(_ context.Context, s []datasets.Statement) error {
	p.d.observe(s)
	return nil
}

// levelSubjectPolicy recommends, at the pupil's level, the most used resources of each
// subject in turn (subjects by their use at the level), popularity counted among
// training pupils of that level.
type levelSubjectPolicy struct {
	w     *world
	d     *done
	order map[string][]string // level -> interleaved order
}

func newLevelSubject(w *world, d *done) *levelSubjectPolicy {
	p := &levelSubjectPolicy{w: w, d: d, order: map[string][]string{}}
	for lv, idx := range w.byLevel {
		use := w.levelUse[lv]
		bySubj := map[string][]string{}
		subjUse := map[string]int{}
		for _, i := range idx {
			r := w.cat.Resources[i]
			bySubj[r.Subject] = append(bySubj[r.Subject], r.ID)
			subjUse[r.Subject] += use[r.ID]
		}
		subjects := make([]string, 0, len(bySubj))
		for s, ids := range bySubj {
			byUse(ids, use)
			subjects = append(subjects, s)
		}
		byUse(subjects, subjUse)
		var order []string
		for i := 0; len(order) < len(idx); i++ {
			for _, s := range subjects {
				if i < len(bySubj[s]) {
					order = append(order, bySubj[s][i])
				}
			}
		}
		p.order[lv] = order
	}
	return p
}
func (p *levelSubjectPolicy) Name() string { return "popularity_level_subject" }
func (p *levelSubjectPolicy) Recommend(_ context.Context, id string, k int) ([]string, error) {
	return p.d.pick(id, p.order[p.w.students[id].Level], k), nil
}
func (p *levelSubjectPolicy) Observe(_ context.Context, s []datasets.Statement) error {
	p.d.observe(s)
	return nil
}

// contentPolicy ranks the resources of the pupil's level and below by the pupil's mean
// need on their competencies, ignoring difficulty: the student model's needs without
// the success-probability fit, gating, novelty or diversity. A pupil without a profile
// (no consent, no data) gets the level-and-subject popularity order.
type contentPolicy struct {
	w        *world
	d        *done
	profile  func(id string) *features.Profile
	fallback *levelSubjectPolicy
}

func (p *contentPolicy) Name() string { return "content" }
func (p *contentPolicy) Recommend(ctx context.Context, id string, k int) ([]string, error) {
	prof := p.profile(id)
	if prof == nil || len(prof.Competencies) == 0 {
		return p.fallback.Recommend(ctx, id, k)
	}
	top := datasets.LevelIndex(p.w.students[id].Level)
	type sc struct {
		id string
		s  float64
	}
	var cands []sc
	for _, r := range p.w.cat.Resources {
		if datasets.LevelIndex(r.Level) > top || len(r.Competencies) == 0 || p.d.has(id, r.ID) {
			continue
		}
		s := 0.0
		for _, c := range r.Competencies {
			s += prof.Competencies[c].Need
		}
		cands = append(cands, sc{r.ID, s / float64(len(r.Competencies))})
	}
	sort.Slice(cands, func(a, b int) bool {
		if cands[a].s != cands[b].s {
			return cands[a].s > cands[b].s
		}
		return cands[a].id < cands[b].id
	})
	out := make([]string, 0, k)
	for _, c := range cands[:min(k, len(cands))] {
		out = append(out, c.id)
	}
	return out, nil
}
func (p *contentPolicy) Observe(_ context.Context, s []datasets.Statement) error {
	p.d.observe(s)
	return nil
}

// coUsagePolicy is item-to-item collaborative filtering: the cosine of co-usage counts
// (pupils who used both, over each pupil's latest coHistory training resources) between
// resources, held sparse (the catalogue is too large for a dense matrix); a pupil's
// scores are the sum of the rows of their latest used resources. Pupils without
// history, or lists it cannot fill, get the level-and-subject popularity order.
type coUsagePolicy struct {
	w        *world
	d        *done
	sim      []map[int32]float64
	hist     map[string][]string
	fallback *levelSubjectPolicy
}

const coHistory = 30

func newCoUsage(w *world, d *done, fb *levelSubjectPolicy) *coUsagePolicy {
	n := len(w.cat.Resources)
	p := &coUsagePolicy{w: w, d: d, fallback: fb, hist: map[string][]string{}, sim: make([]map[int32]float64, n)}
	diag := make([]float64, n)
	ids := make([]string, 0, len(w.history))
	for id := range w.history {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		h := w.history[id]
		h = slices.Clone(h[max(0, len(h)-coHistory):])
		p.hist[id] = h
		idx := make([]int32, 0, len(h))
		for _, r := range h {
			if i, ok := w.cat.ResourceIndex(r); ok {
				idx = append(idx, int32(i))
			}
		}
		for _, a := range idx {
			diag[a]++
			if p.sim[a] == nil {
				p.sim[a] = map[int32]float64{}
			}
			for _, b := range idx {
				if a != b {
					p.sim[a][b]++
				}
			}
		}
	}
	for a, row := range p.sim {
		for b, c := range row {
			row[b] = c / math.Sqrt(diag[a]*diag[b])
		}
	}
	return p
}

func (p *coUsagePolicy) Name() string { return "co_usage" }
func (p *coUsagePolicy) Recommend(ctx context.Context, id string, k int) ([]string, error) {
	h := p.hist[id]
	if len(h) == 0 {
		return p.fallback.Recommend(ctx, id, k)
	}
	score := map[int32]float64{}
	for _, r := range h {
		if i, ok := p.w.cat.ResourceIndex(r); ok {
			for j, v := range p.sim[i] {
				score[j] += v
			}
		}
	}
	idx := make([]int32, 0, len(score))
	for i := range score {
		if !p.d.has(id, p.w.cat.Resources[i].ID) {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool {
		sa, sb := score[idx[a]], score[idx[b]]
		if sa != sb {
			return sa > sb
		}
		return p.w.cat.Resources[idx[a]].ID < p.w.cat.Resources[idx[b]].ID
	})
	out := make([]string, 0, k)
	for _, i := range idx[:min(k, len(idx))] {
		out = append(out, p.w.cat.Resources[i].ID)
	}
	if len(out) < k {
		more, err := p.fallback.Recommend(ctx, id, k+len(out))
		if err != nil {
			return nil, err
		}
		for _, m := range more {
			if len(out) < k && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out, nil
}
func (p *coUsagePolicy) Observe(_ context.Context, stmts []datasets.Statement) error {
	p.d.observe(stmts)
	for _, s := range stmts {
		h := p.hist[s.StudentID]
		if i := slices.Index(h, s.ObjectID); i >= 0 {
			h = slices.Delete(h, i, i+1)
		}
		h = append(h, s.ObjectID)
		p.hist[s.StudentID] = h[max(0, len(h)-coHistory):]
	}
	return nil
}
