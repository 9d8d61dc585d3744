package offline

import (
	"cmp"
	"context"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// Policy ranks resources for a pupil. Every policy, Parcours included, is scored
// through this interface; the evaluation asks for pool(k) items and keeps the first k
// eligible ones (see eligibility).
type Policy interface {
	Name() string
	Recommend(ctx context.Context, pupil string, k int) ([]string, error)
}

// Observer is a policy that learns from what happens next: each simulated week the
// evaluation hands it the batch the service would ingest (the consenting simulated
// pupils' statements and absences, the lessons of their classes).
type Observer interface {
	Observe(ctx context.Context, batch *datasets.Dataset) error
}

// world is what the reference policies know: the catalogue, the pupils, the timetable
// and the training usage of the consenting pupils only (no policy learns from a pupil
// who refused consent).
type world struct {
	cat      *datasets.Catalogue
	students map[string]datasets.Student
	eligible map[int][]int32 // level index -> practice resources of that level and the one below
	users    map[string]int  // consenting training pupils who used each resource
	pupils   int             // consenting training pupils with usage
	levelUse map[string]map[string]int
	history  map[string][]string // consenting pupil -> used resources, latest last, distinct
	lessons  map[string][]datasets.Lesson
	progIdx  map[string]int // competency -> position in its subject and level's programme
	progOf   map[string][]string
}

func newWorld(cat *datasets.Catalogue, sp *Split) *world {
	w := &world{cat: cat, students: map[string]datasets.Student{}, eligible: map[int][]int32{},
		users: map[string]int{}, levelUse: map[string]map[string]int{}, history: map[string][]string{},
		lessons: map[string][]datasets.Lesson{}, progIdx: map[string]int{}, progOf: map[string][]string{}}
	for _, s := range sp.Train.Students {
		w.students[s.ID] = s
	}
	for i := range cat.Resources {
		r := &cat.Resources[i]
		lv := datasets.LevelIndex(r.Level)
		if !practice(r) || lv < 0 {
			continue
		}
		w.eligible[lv] = append(w.eligible[lv], int32(i))
		w.eligible[lv+1] = append(w.eligible[lv+1], int32(i))
	}
	for _, k := range cat.Competencies {
		key := k.Subject + "|" + k.Level
		w.progIdx[k.ID] = len(w.progOf[key])
		w.progOf[key] = append(w.progOf[key], k.ID)
	}
	stmts := make([]datasets.Statement, 0, len(sp.Train.Statements))
	for _, s := range sp.Train.Statements {
		if w.students[s.StudentID].Consent {
			stmts = append(stmts, s)
		}
	}
	slices.SortStableFunc(stmts, func(a, b datasets.Statement) int { return a.Timestamp.Compare(b.Timestamp) })
	used := map[string]map[string]bool{}
	for _, s := range stmts {
		if _, ok := cat.Resource(s.ObjectID); !ok || s.Verb == datasets.VerbVoided {
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
	for _, l := range sp.Train.Lessons {
		w.lessons[l.ClassID] = append(w.lessons[l.ClassID], l)
	}
	for _, ls := range w.lessons {
		slices.SortStableFunc(ls, func(a, b datasets.Lesson) int { return a.Start.Compare(b.Start) })
	}
	return w
}

func (w *world) consent(id string) bool { return w.students[id].Consent }

func (w *world) level(id string) int { return datasets.LevelIndex(w.students[id].Level) }

// candidates are the ids of the practice resources of the pupil's level and the one below.
func (w *world) candidates(id string) []string {
	idx := w.eligible[w.level(id)]
	out := make([]string, len(idx))
	for i, r := range idx {
		out[i] = w.cat.Resources[r].ID
	}
	return out
}

// keepOK returns the first k ids of order the run lets the pupil have.
func keepOK(r *run, pupil string, order []string, k int) []string { return r.keep(pupil, order, k) }

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

// noRecPolicy recommends nothing: the pupils only have their lessons. Every gain is
// measured against it.
type noRecPolicy struct{}

func (noRecPolicy) Name() string                                             { return "no_recommendation" }
func (noRecPolicy) Recommend(context.Context, string, int) ([]string, error) { return nil, nil }

// randomPolicy draws eligible resources uniformly, seeded per pupil and call.
type randomPolicy struct {
	w     *world
	r     *run
	seed  uint64
	calls map[string]uint64
}

func (p *randomPolicy) Name() string { return "random" }
func (p *randomPolicy) Recommend(_ context.Context, id string, k int) ([]string, error) {
	ids := p.w.candidates(id)
	rng := rand.New(rand.NewPCG(p.seed^hashString(id), p.calls[id]))
	p.calls[id]++
	rng.Shuffle(len(ids), func(a, b int) { ids[a], ids[b] = ids[b], ids[a] })
	return keepOK(p.r, id, ids, k), nil
}

// popularPolicy recommends the practice resources most consenting pupils used in
// training, whatever their level (the filter then keeps the pupil's range).
type popularPolicy struct {
	r     *run
	order []string
}

func newPopular(w *world, r *run) *popularPolicy {
	var ids []string
	for i := range w.cat.Resources {
		if practice(&w.cat.Resources[i]) {
			ids = append(ids, w.cat.Resources[i].ID)
		}
	}
	return &popularPolicy{r: r, order: byUse(ids, w.users)}
}
func (p *popularPolicy) Name() string { return "popularity" }
func (p *popularPolicy) Recommend(_ context.Context, id string, k int) ([]string, error) {
	return keepOK(p.r, id, p.order, k), nil
}

// levelSubjectPolicy recommends, among the pupil's eligible resources, the most used of
// each subject in turn (subjects by their use at the level), use counted among the
// consenting training pupils of the pupil's level.
type levelSubjectPolicy struct {
	w     *world
	r     *run
	order map[int][]string // level index -> interleaved order
}

func newLevelSubject(w *world, r *run) *levelSubjectPolicy {
	p := &levelSubjectPolicy{w: w, r: r, order: map[int][]string{}}
	for lv, idx := range w.eligible {
		if lv >= len(datasets.Levels) {
			continue
		}
		use := w.levelUse[datasets.Levels[lv]]
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
		order := make([]string, 0, len(idx))
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
	return keepOK(p.r, id, p.order[p.w.level(id)], k), nil
}

// syllabusPolicy is the non-personalised list a teacher would hand out: exercises and
// quizzes of the class's current and next chapters, read from the timetable as it
// stands (lessons up to now). Chapters: for each subject taught in the last two weeks,
// the competencies of its latest lesson, then the next competency of the programme
// (competencies.csv order within subject and level); chapters of more recently taught
// subjects first. Within a chapter, the most typical items first (published difficulty
// nearest the chapter's mean); the list takes one item of each chapter in turn.
type syllabusPolicy struct {
	w   *world
	r   *run
	now func() time.Time
	own map[string][]datasets.Lesson // lessons observed since the split, per class
}

func (p *syllabusPolicy) Name() string { return "syllabus" }
func (p *syllabusPolicy) Observe(_ context.Context, b *datasets.Dataset) error {
	for _, l := range b.Lessons {
		p.own[l.ClassID] = append(p.own[l.ClassID], l)
	}
	return nil
}

func (p *syllabusPolicy) chapters(class string) []string {
	now := p.now()
	since := now.AddDate(0, 0, -14)
	ls := append(slices.Clone(p.w.lessons[class]), p.own[class]...)
	var order []string
	seenSubj := map[string]bool{}
	var nexts []string
	for i := len(ls) - 1; i >= 0; i-- {
		l := ls[i]
		if !l.Start.Before(now) {
			continue
		}
		if l.Start.Before(since) {
			break
		}
		if seenSubj[l.Subject] {
			continue
		}
		seenSubj[l.Subject] = true
		most := ""
		for _, c := range l.Competencies {
			if !contains(order, c) {
				order = append(order, c)
			}
			if most == "" || p.w.progIdx[c] > p.w.progIdx[most] {
				most = c
			}
		}
		if k, ok := p.w.cat.Competency(most); ok {
			prog := p.w.progOf[k.Subject+"|"+k.Level]
			if i := p.w.progIdx[most] + 1; i < len(prog) {
				nexts = append(nexts, prog[i])
			}
		}
	}
	for _, c := range nexts {
		if !contains(order, c) {
			order = append(order, c)
		}
	}
	return order
}

func (p *syllabusPolicy) Recommend(_ context.Context, id string, k int) ([]string, error) {
	chs := p.chapters(p.w.students[id].ClassID)
	lists := make([][]string, len(chs))
	for i, c := range chs {
		lists[i] = p.typical(c)
	}
	var order []string
	for j := 0; ; j++ {
		more := false
		for _, l := range lists {
			if j < len(l) {
				order = append(order, l[j])
				more = true
			}
		}
		if !more || len(order) > 4*k+len(lists) {
			break
		}
	}
	return keepOK(p.r, id, order, k), nil
}

// typical orders a chapter's practice items by distance to its mean published difficulty.
func (p *syllabusPolicy) typical(comp string) []string {
	var ids []string
	var mean float64
	for _, i := range p.w.cat.ResourcesFor(comp) {
		r := &p.w.cat.Resources[i]
		if practice(r) {
			ids = append(ids, r.ID)
			mean += r.Difficulty
		}
	}
	if len(ids) == 0 {
		return nil
	}
	mean /= float64(len(ids))
	dist := func(id string) float64 {
		r, _ := p.w.cat.Resource(id)
		d := r.Difficulty - mean
		return d * d
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := cmp.Compare(dist(a), dist(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return ids
}

// contentPolicy ranks the eligible resources by the pupil's mean need on their
// competencies, ignoring difficulty: the student model's needs without the
// success-probability fit, gating, novelty or diversity. A pupil without consent or
// without a profile gets the level-and-subject popularity order.
type contentPolicy struct {
	w        *world
	r        *run
	profile  func(id string) *features.Profile
	fallback *levelSubjectPolicy
}

func (p *contentPolicy) Name() string { return "content" }
func (p *contentPolicy) Recommend(ctx context.Context, id string, k int) ([]string, error) {
	var prof *features.Profile
	if p.w.consent(id) {
		prof = p.profile(id)
	}
	if prof == nil || len(prof.Competencies) == 0 {
		return p.fallback.Recommend(ctx, id, k)
	}
	type sc struct {
		id string
		s  float64
	}
	var cands []sc
	for _, rid := range p.w.candidates(id) {
		if !p.r.ok(id, rid) {
			continue
		}
		r, _ := p.w.cat.Resource(rid)
		s := 0.0
		for _, c := range r.Competencies {
			s += prof.Competencies[c].Need
		}
		cands = append(cands, sc{rid, s / float64(len(r.Competencies))})
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
