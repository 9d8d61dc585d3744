package recommender

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// MaxPathLength bounds the steps of a learning path.
const MaxPathLength = 50

// DefaultPathLength is the number of steps when a PathRequest leaves Length at zero.
const DefaultPathLength = 5

// maxAlternatives is how many other resources a step offers.
const maxAlternatives = 3

// Path builds an ordered learning path for a subject: the competencies the pupil needs
// (and their unmastered prerequisites) in an order that respects the prerequisite graph,
// one best resource per step with alternatives. Pinned resources always appear, rejected
// ones never; approved ones are preferred and shown as such.
func (e *Engine) Path(ctx context.Context, r PathRequest) (Path, error) {
	s := e.snap.Load()
	if r.Length == 0 {
		r.Length = DefaultPathLength
	}
	if r.Length < 0 || r.Length > MaxPathLength {
		return Path{}, datasets.Errorf(ErrInvalid, "length", "length=%d outside 1..%d", r.Length, MaxPathLength)
	}
	if r.Subject == "" || !s.subjects[r.Subject] {
		return Path{}, datasets.Errorf(ErrInvalid, "subject", "unknown subject %q", r.Subject)
	}
	st, err := e.store.Student(ctx, r.StudentID)
	if err != nil {
		return Path{}, fmt.Errorf("recommender.Path: student %q: %w", r.StudentID, storeErr(err))
	}
	out := Path{StudentID: st.ID, Subject: r.Subject, ModelVersion: s.version, GeneratedAt: e.cfg.Now(), Source: SourceComputed}
	if !st.Consent {
		out.Source = SourceFallback
		out.Steps = e.fallbackPath(s, st, nil, r)
		return out, nil
	}
	p, err := e.loadPupil(ctx, st)
	if err != nil {
		return Path{}, fmt.Errorf("recommender.Path: %w", err)
	}
	if p.prof == nil {
		out.Source = SourceFallback
		out.Steps = e.fallbackPath(s, st, p.latest, r)
		return out, nil
	}
	out.Steps = e.personalPath(s, p, r)
	return out, nil
}

// pathPlan is the state of the greedy topological walk.
type pathPlan struct {
	e       *Engine
	s       *snapshot
	p       *pupil
	r       PathRequest
	levels  map[string]bool
	placed  map[string]bool // competencies already covered by a step
	used    map[string]bool // resources already in a step
	steps   []Step
	blocked map[string]bool // competencies with no usable resource
}

func (e *Engine) personalPath(s *snapshot, p *pupil, r PathRequest) []Step {
	pl := &pathPlan{e: e, s: s, p: p, r: r, levels: levelsUpTo(p.st.Level), placed: map[string]bool{}, used: map[string]bool{}, blocked: map[string]bool{}}
	// Pinned resources first: a teacher's pin bypasses the gating.
	for _, id := range sortedKeys(p.latest) {
		if p.latest[id].Decision != DecisionPin || len(pl.steps) >= r.Length {
			continue
		}
		if i, ok := s.cat.ResourceIndex(id); ok && s.cat.Resources[i].Subject == r.Subject {
			c := pl.stepComp(&s.cat.Resources[i])
			pl.used[s.cat.Resources[i].ID] = true
			pl.addStep(c, i, true, pl.pathCands(c))
		}
	}
	need, rest := pl.tiers()
	for len(pl.steps) < r.Length {
		c := pl.next(need)
		if c == "" {
			c = pl.next(rest)
		}
		if c == "" {
			break
		}
		cands := pl.pathCands(c)
		if len(cands) == 0 {
			pl.blocked[c] = true
			continue
		}
		pl.addStep(c, cands[0].idx, false, cands[1:])
	}
	return pl.steps
}

// tiers splits the subject's competencies up to the pupil's level into those the pupil
// needs (need over threshold, a recently missed lesson, or an unmastered prerequisite of
// one of those) and the others not yet mastered.
func (pl *pathPlan) tiers() (need, rest []string) {
	e, s, p := pl.e, pl.s, pl.p
	in := map[string]bool{}
	var visit func(c string)
	visit = func(c string) {
		if in[c] {
			return
		}
		in[c] = true
		k, _ := s.cat.Competency(c)
		for _, q := range k.Prerequisites {
			if !e.mastered(p.prof, q) {
				visit(q)
			}
		}
	}
	for _, k := range s.cat.Competencies {
		if k.Subject != pl.r.Subject || !pl.levels[k.Level] {
			continue
		}
		_, missed := p.missed[k.ID]
		if p.prof.Competencies[k.ID].Need >= e.cfg.NeedThreshold || missed {
			visit(k.ID)
		}
	}
	for _, k := range s.cat.Competencies {
		switch {
		case k.Subject != pl.r.Subject || !pl.levels[k.Level]:
		case in[k.ID]:
			need = append(need, k.ID)
		case !e.masteredWithEvidence(p.prof, k.ID):
			rest = append(rest, k.ID)
		}
	}
	return need, rest
}

// next picks, among pool, the most needed competency whose prerequisites are all
// mastered or earlier in the path (ties: lower level, then id); "" when none.
func (pl *pathPlan) next(pool []string) string {
	best, bestNeed, bestLevel := "", -1.0, 0
	for _, c := range pool {
		if pl.placed[c] || pl.blocked[c] || !pl.ready(c) {
			continue
		}
		n := pl.p.prof.Competencies[c].Need
		if _, ok := pl.p.missed[c]; ok {
			n = max(n, pl.e.missedNeed(pl.p.prof, c))
		}
		k, _ := pl.s.cat.Competency(c)
		lv := datasets.LevelIndex(k.Level)
		if n > bestNeed || (n == bestNeed && (lv < bestLevel || (lv == bestLevel && c < best))) {
			best, bestNeed, bestLevel = c, n, lv
		}
	}
	return best
}

func (pl *pathPlan) ready(c string) bool {
	if pl.e.cfg.NoGating {
		return true
	}
	k, _ := pl.s.cat.Competency(c)
	for _, q := range k.Prerequisites {
		if !pl.placed[q] && !pl.e.mastered(pl.p.prof, q) {
			return false
		}
	}
	return true
}

// stepComp is the competency of a pinned resource a step stands for: the first of the
// path's subject.
func (pl *pathPlan) stepComp(r *datasets.Resource) string {
	for _, c := range r.Competencies {
		if k, ok := pl.s.cat.Competency(c); ok && k.Subject == pl.r.Subject {
			return c
		}
	}
	if len(r.Competencies) > 0 {
		return r.Competencies[0]
	}
	return ""
}

// pathCands returns the usable resources of c, best first: fit × novelty, approved ones
// preferred, ties by id.
func (pl *pathPlan) pathCands(c string) []scored {
	var out []scored
	for _, i := range pl.s.cat.ResourcesFor(c) {
		r := &pl.s.cat.Resources[i]
		if r.Subject != pl.r.Subject || !pl.levels[r.Level] || pl.used[r.ID] {
			continue
		}
		d, hasD := pl.p.latest[r.ID]
		if hasD && d.Decision == DecisionReject {
			continue
		}
		sc := scored{idx: i, comp: c, approved: hasD && d.Decision == DecisionApprove}
		sc.p = pl.s.model.Predict(pl.p.prof, r)
		sc.fit = pl.e.fit(pl.s, sc.p)
		sc.novelty = 1
		switch {
		case pl.e.cfg.NoNovelty:
		case pl.p.completed[r.ID]:
			sc.novelty = 0.3
		case pl.p.seen[r.ID]:
			sc.novelty = 0.7
		}
		sc.score = sc.fit * sc.novelty
		if sc.approved {
			sc.score += 1
		}
		out = append(out, sc)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].score != out[b].score {
			return out[a].score > out[b].score
		}
		return pl.s.cat.Resources[out[a].idx].ID < pl.s.cat.Resources[out[b].idx].ID
	})
	return out
}

// addStep appends the step of resource i for competency c, with the first of alts (the
// other usable resources of c, best first) as alternatives.
func (pl *pathPlan) addStep(c string, i int, pinned bool, alts []scored) {
	s, p := pl.s, pl.p
	r := &s.cat.Resources[i]
	pl.used[r.ID] = true
	pl.placed[c] = true
	d, hasD := p.latest[r.ID]
	sc := scored{idx: i, comp: c, pinned: pinned, approved: hasD && d.Decision == DecisionApprove}
	sc.need = p.prof.Competencies[c].Need
	if m, ok := p.missed[c]; ok {
		mm := m
		sc.missed = &mm
		sc.need = max(sc.need, pl.e.missedNeed(p.prof, c))
	}
	sc.p = s.model.Predict(p.prof, r)
	sc.fit = pl.e.fit(pl.s, sc.p)
	sc.unblocks = pl.e.unblocks(s, p.prof, c)
	step := Step{
		Position:     len(pl.steps) + 1,
		ResourceID:   r.ID,
		Title:        r.Title,
		Competency:   c,
		Status:       StatusSuggested,
		PSuccess:     round(sc.p, 4),
		Reasons:      pl.e.explain(s, p, sc, pl.r.Lang),
		Alternatives: []string{},
		URL:          r.URL,
	}
	for _, a := range alts {
		if a.idx == i {
			continue
		}
		if len(step.Alternatives) == maxAlternatives {
			break
		}
		step.Alternatives = append(step.Alternatives, s.cat.Resources[a.idx].ID)
	}
	setDecision(&step, p.latest, pinned)
	pl.steps = append(pl.steps, step)
}

// setDecision shows the latest teacher decision on the step's resource.
func setDecision(step *Step, latest map[string]Decision, pinned bool) {
	if d, ok := latest[step.ResourceID]; ok {
		dd := d
		step.Decision = &dd
		switch d.Decision {
		case DecisionApprove:
			step.Status = StatusApproved
		case DecisionPin:
			step.Status = StatusPinned
		}
	}
	if pinned {
		step.Status = StatusPinned
	}
}

// levelsUpTo is the set of levels a path may draw on: the pupil's and every level below
// (prerequisites come from earlier years). An unknown level allows every level.
func levelsUpTo(level string) map[string]bool {
	out := map[string]bool{}
	i := datasets.LevelIndex(level)
	if i < 0 {
		for _, l := range datasets.Levels {
			out[l] = true
		}
		out[level] = true
		return out
	}
	for _, l := range datasets.Levels[:i+1] {
		out[l] = true
	}
	return out
}

// fallbackPath is a non-personalised path: the subject's competencies of the pupil's
// level in prerequisite order, each with its most popular resource.
func (e *Engine) fallbackPath(s *snapshot, st datasets.Student, decisions map[string]Decision, r PathRequest) []Step {
	var steps []Step
	used := map[string]bool{}
	add := func(c string, i int, alts []string, pinned bool) {
		res := &s.cat.Resources[i]
		used[res.ID] = true
		// Without consent or data the success predicted is an average pupil's, as in the
		// fallback recommendations: never a 0 that reads as "will fail".
		var avg features.Profile
		step := Step{Position: len(steps) + 1, ResourceID: res.ID, Title: res.Title, Competency: c, Status: StatusSuggested,
			PSuccess: round(s.model.Predict(&avg, res), 4), Reasons: explainFallback(s, res, pinned, r.Lang), Alternatives: alts, URL: res.URL}
		if decisions != nil {
			setDecision(&step, decisions, pinned)
		}
		steps = append(steps, step)
	}
	for _, id := range sortedKeys(decisions) {
		if decisions[id].Decision != DecisionPin || len(steps) >= r.Length {
			continue
		}
		if i, ok := s.cat.ResourceIndex(id); ok && s.cat.Resources[i].Subject == r.Subject {
			add(firstComp(&s.cat.Resources[i]), i, []string{}, true)
		}
	}
	// The most popular usable resources of each competency at the pupil's level.
	byComp := map[string][]int{}
	for _, p := range s.popular[st.Level+"|"+r.Subject] {
		res := &s.cat.Resources[p.idx]
		if d, ok := decisions[res.ID]; (ok && d.Decision == DecisionReject) || used[res.ID] {
			continue
		}
		for _, c := range res.Competencies {
			if len(byComp[c]) <= maxAlternatives {
				byComp[c] = append(byComp[c], p.idx)
			}
		}
	}
	for _, c := range topoOrder(s.cat, r.Subject, st.Level) {
		if len(steps) >= r.Length {
			break
		}
		var pick []int
		for _, i := range byComp[c] {
			if !used[s.cat.Resources[i].ID] {
				pick = append(pick, i)
			}
		}
		if len(pick) == 0 {
			continue
		}
		alts := []string{}
		for _, i := range pick[1:] {
			alts = append(alts, s.cat.Resources[i].ID)
		}
		add(c, pick[0], alts, false)
	}
	for i := range steps {
		steps[i].PSuccess = 0 // not personalised: no prediction for this pupil
	}
	return steps
}

func firstComp(r *datasets.Resource) string {
	if len(r.Competencies) > 0 {
		return r.Competencies[0]
	}
	return ""
}

// topoOrder lists the subject's competencies of a level in prerequisite order (Kahn's
// algorithm restricted to that set; ties by id).
func topoOrder(cat *datasets.Catalogue, subject, level string) []string {
	in := map[string]bool{}
	for _, k := range cat.Competencies {
		if k.Subject == subject && k.Level == level {
			in[k.ID] = true
		}
	}
	indeg := map[string]int{}
	for id := range in {
		k, _ := cat.Competency(id)
		for _, q := range k.Prerequisites {
			if in[q] {
				indeg[id]++
			}
		}
	}
	var ready, out []string
	for id := range in {
		if indeg[id] == 0 {
			ready = append(ready, id)
		}
	}
	for len(ready) > 0 {
		sort.Strings(ready)
		c := ready[0]
		ready = ready[1:]
		out = append(out, c)
		for _, d := range cat.Dependents(c) {
			if in[d] {
				if indeg[d]--; indeg[d] == 0 {
					ready = append(ready, d)
				}
			}
		}
	}
	return out
}

// MaxCommentLen bounds a teacher's comment on a decision.
const MaxCommentLen = 2000

// Decide records a teacher's decision on a resource of a pupil's path. It is honoured by
// the next recommendation and path.
func (e *Engine) Decide(ctx context.Context, d Decision) error {
	s := e.snap.Load()
	if !ValidDecision(d.Decision) {
		return datasets.Errorf(ErrInvalid, "/decision", "decision %q is not approve, reject, pin or undo", d.Decision)
	}
	if strings.TrimSpace(d.TeacherID) == "" {
		return datasets.Errorf(ErrInvalid, "", "no teacher")
	}
	if len(d.Comment) > MaxCommentLen {
		return datasets.Errorf(ErrInvalid, "/comment", "comment over %d bytes", MaxCommentLen)
	}
	if _, ok := s.cat.Resource(d.ResourceID); !ok {
		return fmt.Errorf("recommender.Decide: resource %q: %w", d.ResourceID, ErrNotFound)
	}
	if _, err := e.store.Student(ctx, d.StudentID); err != nil {
		return fmt.Errorf("recommender.Decide: student %q: %w", d.StudentID, storeErr(err))
	}
	if d.At.IsZero() {
		d.At = e.cfg.Now()
	}
	if d.Decision == DecisionUndo {
		ds, err := e.store.Decisions(ctx, d.StudentID)
		if err != nil {
			return fmt.Errorf("recommender.Decide: %w", storeErr(err))
		}
		if _, ok := LatestDecisions(ds)[d.ResourceID]; !ok {
			return datasets.Errorf(ErrConflict, "/resource_id", "no decision on %q to undo", d.ResourceID)
		}
	}
	if err := e.store.AddDecision(ctx, d); err != nil {
		return fmt.Errorf("recommender.Decide: %w", storeErr(err))
	}
	return nil
}
