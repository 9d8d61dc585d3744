package recommender

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// Rankers beside RankerDefault, RankerReRank and RankerBenefit (types.go), for
// Config.Ranker and PolicyOverride.Ranker: RankerLearning scores by need × fit ×
// novelty whatever the re-ranker, RankerBlend by √(re-ranker) × need × fit.
const (
	RankerLearning = "learning"
	RankerBlend    = "blend"
)

// MaxK bounds the items of one answer.
const MaxK = 100

// DefaultK is the number of items when a Request leaves K at zero.
const DefaultK = 10

// pupil is what one request knows about a consenting pupil.
type pupil struct {
	st        datasets.Student
	prof      *features.Profile
	latest    map[string]Decision // resource id -> latest decision
	seen      map[string]bool
	completed map[string]bool
	missed    map[string]features.MissedLesson // competency -> latest recent missed lesson
	pos       map[string]int                   // competency -> syllabus position (sylCurrent...)
	co        map[int32]float32                // resource index -> co-usage with what the pupil used
	neigh     map[int32]float64                // resource index -> share of nearest profiles who used it
	pol       policy                           // the request's ranking knobs (policyFor)
}

// Recommend ranks the resources the pupil should work on next. Without consent, or
// without any data on the pupil, it answers non-personalised suggestions (Source
// "fallback") having read nothing personal but the student row.
func (e *Engine) Recommend(ctx context.Context, r Request) (Recommendations, error) {
	s := e.snap.Load()
	if r.K == 0 {
		r.K = DefaultK
	}
	if r.K < 0 || r.K > MaxK {
		return Recommendations{}, datasets.Errorf(ErrInvalid, "k", "k=%d outside 1..%d", r.K, MaxK)
	}
	if r.Subject != "" && !s.subjects[r.Subject] {
		return Recommendations{}, datasets.Errorf(ErrInvalid, "subject", "unknown subject %q", r.Subject)
	}
	if err := CheckPolicy(r.Policy); err != nil {
		return Recommendations{}, err
	}
	st, err := e.store.Student(ctx, r.StudentID)
	if err != nil {
		return Recommendations{}, fmt.Errorf("recommender.Recommend: student %q: %w", r.StudentID, storeErr(err))
	}
	if !st.Consent {
		return e.fallback(ctx, s, st, nil, r)
	}
	p, err := e.loadPupil(ctx, st)
	if err != nil {
		return Recommendations{}, fmt.Errorf("recommender.Recommend: %w", err)
	}
	if p.prof == nil {
		return e.fallback(ctx, s, st, p.latest, r)
	}
	p.pol = e.policyFor(s, r)
	e.prepare(s, p, r.Subject)
	if err := e.neighbours(ctx, s, p); err != nil {
		return Recommendations{}, fmt.Errorf("recommender.Recommend: %w", err)
	}
	cands := e.candidates(ctx, s, p, r.Subject)
	if cands.err != nil {
		return Recommendations{}, fmt.Errorf("recommender.Recommend: %w", cands.err)
	}
	ranked := e.score(s, p, cands.idx)
	if len(ranked) < r.K {
		ranked = append(ranked, e.fillUp(s, p, r.Subject, ranked, r.K-len(ranked))...)
	}
	chosen := e.selectList(s, p, ranked, r.K)
	out := Recommendations{
		StudentID:    st.ID,
		ModelVersion: s.version,
		GeneratedAt:  e.cfg.Now(),
		Source:       SourceComputed,
		Items:        make([]Item, 0, len(chosen)),
	}
	for _, c := range chosen {
		out.Items = append(out.Items, e.item(s, p, c, r.Lang))
	}
	if !r.Prefetch {
		if err := e.logServed(ctx, out); err != nil {
			return Recommendations{}, fmt.Errorf("recommender.Recommend: %w", err)
		}
	}
	return out, nil
}

func (e *Engine) logServed(ctx context.Context, rec Recommendations) error {
	if len(rec.Items) == 0 {
		return nil
	}
	ids := make([]string, len(rec.Items))
	for i, it := range rec.Items {
		ids[i] = it.ResourceID
	}
	if err := e.store.LogServed(ctx, rec.StudentID, ids, rec.GeneratedAt); err != nil {
		return fmt.Errorf("log served: %w", storeErr(err))
	}
	return nil
}

// loadPupil reads a consenting pupil's profile and decisions. prof stays nil when the
// pupil has no profile or one without any evidence.
func (e *Engine) loadPupil(ctx context.Context, st datasets.Student) (*pupil, error) {
	p := &pupil{st: st, latest: map[string]Decision{}, seen: map[string]bool{}, completed: map[string]bool{}, missed: map[string]features.MissedLesson{}}
	ds, err := e.store.Decisions(ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("decisions of %q: %w", st.ID, storeErr(err))
	}
	p.latest = LatestDecisions(ds) // oldest first: the last one wins, undos replayed
	prof, err := e.store.Profile(ctx, st.ID)
	if errors.Is(err, ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("profile of %q: %w", st.ID, storeErr(err))
	}
	if !hasEvidence(&prof) {
		return p, nil
	}
	e.setProfile(p, &prof)
	return p, nil
}

// setProfile attaches a profile with evidence to the pupil: what they used and the
// competencies of the lessons they missed recently (by the data's clock).
func (e *Engine) setProfile(p *pupil, prof *features.Profile) {
	p.prof = prof
	for _, id := range prof.Usage.Seen {
		p.seen[id] = true
	}
	for _, id := range prof.Usage.Completed {
		p.completed[id] = true
	}
	ref := prof.AsOf // the data's clock, so that a past school year still has catch-up
	if ref.IsZero() {
		ref = e.cfg.Now()
	}
	since := ref.Add(-e.cfg.MissedWindow)
	for _, m := range prof.Missed {
		if e.cfg.NoCatchUp {
			break
		}
		if m.Start.Before(since) {
			continue
		}
		for _, c := range m.Competencies {
			if old, ok := p.missed[c]; !ok || m.Start.After(old.Start) {
				p.missed[c] = m
			}
		}
	}
}

// prepare reads where the pupil's class stands in the syllabus and how the resources go
// with what the pupil used (co-usage), both from the snapshot.
func (e *Engine) prepare(s *snapshot, p *pupil, subject string) {
	ref := p.prof.AsOf
	if ref.IsZero() {
		ref = e.cfg.Now()
	}
	if !e.cfg.NoSyllabus {
		p.pos = s.agg.Syllabus.positions(p.st, subject, ref)
	}
	if !e.cfg.NoCoUsage {
		p.co = s.co.scores(s.cat, p.prof.Usage.Seen)
	}
}

func hasEvidence(p *features.Profile) bool {
	if p.GlobalN > 0 || len(p.Missed) > 0 || len(p.Usage.Seen) > 0 {
		return true
	}
	for _, cs := range p.Competencies {
		if cs.N > 0 || cs.GradeN > 0 {
			return true
		}
	}
	return false
}

// levelsFor is the pupil's level and the one below: what a pupil may work on.
func levelsFor(level string) []string {
	i := datasets.LevelIndex(level)
	if i <= 0 {
		return []string{level}
	}
	return []string{level, datasets.Levels[i-1]}
}

// storeErr marks a store failure that is not a domain answer as the store being
// unavailable, so the api can answer 503.
func storeErr(err error) error {
	for _, known := range []error{ErrNotFound, ErrInvalid, ErrConflict, ErrUnavailable, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, known) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// candidateSet holds the catalogue indexes of the resources worth ranking.
type candidateSet struct {
	idx []int
	err error
}

// candidates gathers, within MaxCandidates: what the teacher pinned, the nearest
// resources to the pupil's vector, then the store-free pool (see pool); never what the
// teacher rejected.
func (e *Engine) candidates(ctx context.Context, s *snapshot, p *pupil, subject string) candidateSet {
	levels := levelsFor(p.st.Level)
	var rejected []string
	for id, d := range p.latest {
		if d.Decision == DecisionReject {
			rejected = append(rejected, id)
		}
	}
	sort.Strings(rejected)
	cs := newCandSet(e.cfg.MaxCandidates)
	// Pinned first: they always come back, whatever their level.
	for _, id := range sortedKeys(p.latest) {
		if p.latest[id].Decision != DecisionPin {
			continue
		}
		if i, ok := s.cat.ResourceIndex(id); ok && (subject == "" || s.cat.Resources[i].Subject == subject) {
			cs.add(i)
		}
	}
	allowed := e.allowedFor(p, subject, levels)
	if !e.cfg.NoVectorSearch && len(p.prof.Vector) > 0 && len(p.prof.Vector) == s.layout.Dim() {
		hits, err := e.store.SearchResources(ctx, p.prof.Vector, e.cfg.MaxCandidates/4, Filter{Subject: subject, Levels: levels, Exclude: rejected})
		if err != nil {
			return candidateSet{err: fmt.Errorf("search resources: %w", storeErr(err))}
		}
		for _, h := range hits {
			if i, ok := s.cat.ResourceIndex(h.ResourceID); ok && allowed(&s.cat.Resources[i]) && e.typeFits(p, &s.cat.Resources[i]) {
				cs.add(i)
			}
		}
	}
	e.pool(s, p, subject, allowed, cs)
	return candidateSet{idx: cs.out}
}

// candSet collects distinct candidate indexes up to a budget.
type candSet struct {
	seen   map[int]bool
	out    []int
	budget int
}

func newCandSet(budget int) *candSet { return &candSet{seen: map[int]bool{}, budget: budget} }

func (c *candSet) add(i int) bool {
	if c.seen[i] || len(c.out) >= c.budget {
		return false
	}
	c.seen[i] = true
	c.out = append(c.out, i)
	return true
}

func (c *candSet) full() bool { return len(c.out) >= c.budget }

// allowedFor is the filter every candidate passes: the subject asked, the pupil's level
// or the one below, not rejected by the teacher.
func (e *Engine) allowedFor(p *pupil, subject string, levels []string) func(*datasets.Resource) bool {
	return func(r *datasets.Resource) bool {
		if subject != "" && r.Subject != subject {
			return false
		}
		if !contains(levels, r.Level) {
			return false
		}
		if p.completed[r.ID] && !isStudy(r) && !e.cfg.NoNovelty {
			return false // not listed again (see score): leave the budget to fresh items
		}
		d, ok := p.latest[r.ID]
		return !ok || d.Decision != DecisionReject
	}
}

// isStudy tells study material (videos, sheets: they teach) from practice (exercises,
// quizzes: the pupil answers).
func isStudy(r *datasets.Resource) bool {
	return r.Type == datasets.ResourceVideo || r.Type == datasets.ResourceSheet
}

// typeFits keeps study material to the competencies where the pupil needs teaching: a
// missed lesson, or evidence of low mastery. Elsewhere a slot is for practice.
func (e *Engine) typeFits(p *pupil, r *datasets.Resource) bool {
	if !isStudy(r) || e.cfg.NoTypeRule {
		return true
	}
	for _, c := range r.Competencies {
		if e.needsTeaching(p, c) {
			return true
		}
	}
	return false
}

func (e *Engine) needsTeaching(p *pupil, c string) bool {
	if _, ok := p.missed[c]; ok {
		return true
	}
	cs, ok := p.prof.Competencies[c]
	return ok && (cs.N > 0 || cs.GradeN > 0) && cs.PMastery < e.cfg.MasteryThreshold && cs.Need >= e.cfg.NeedThreshold
}

// pool adds the store-free candidates: the resources most co-used with what the pupil
// used, then for each competency of a recently missed lesson, of the chapters around the
// one the class is on, and of the strongest needs, the resources whose predicted success
// best fits the target. A gated competency is replaced by its frontier: the unmastered
// prerequisites that are themselves workable now.
func (e *Engine) pool(s *snapshot, p *pupil, subject string, allowed func(*datasets.Resource) bool, cs *candSet) {
	if len(p.co) > 0 {
		type cu struct {
			i int32
			s float32
		}
		var top []cu
		for i, v := range p.co {
			r := &s.cat.Resources[i]
			if allowed(r) && !p.completed[r.ID] && e.typeFits(p, r) {
				top = append(top, cu{i, v})
			}
		}
		sort.Slice(top, func(a, b int) bool {
			if top[a].s != top[b].s {
				return top[a].s > top[b].s
			}
			return top[a].i < top[b].i
		})
		for _, t := range top[:min(len(top), e.cfg.MaxCandidates/5)] {
			cs.add(int(t.i))
		}
	}
	e.topShares(s, p, p.neigh, allowed, cs)
	var comps []string
	seenComp := map[string]bool{}
	push := func(c string) {
		for _, f := range e.frontier(s, p.prof, c, map[string]bool{}) {
			if !seenComp[f] {
				seenComp[f] = true
				comps = append(comps, f)
			}
		}
	}
	for _, c := range sortedKeys(p.missed) {
		push(c)
	}
	for _, want := range []int{sylCurrent, sylNext, sylPrevious} {
		for _, c := range sortedKeys(p.pos) {
			if p.pos[c] == want {
				push(c)
			}
		}
	}
	nNeeds := 0
	for _, c := range topNeeds(s.cat, p.prof, subject, e.cfg.NeedThreshold, 24) {
		if nNeeds >= 12 {
			break
		}
		if !seenComp[c] {
			nNeeds++
		}
		push(c)
	}
	if len(comps) == 0 {
		return
	}
	per := max(3, (cs.budget-len(cs.out))/len(comps))
	for _, c := range comps {
		for _, i := range e.bestFitting(s, p, c, allowed, per) {
			if cs.full() {
				return
			}
			cs.add(i)
		}
	}
}

// frontier returns c when it is workable now, else the frontiers of its unmastered
// prerequisites (sorted, deduplicated by the caller).
func (e *Engine) frontier(s *snapshot, p *features.Profile, c string, visited map[string]bool) []string {
	if visited[c] {
		return nil
	}
	visited[c] = true
	if !e.gated(s, p, c) {
		return []string{c}
	}
	k, _ := s.cat.Competency(c)
	var out []string
	for _, q := range k.Prerequisites {
		if !e.mastered(p, q) {
			out = append(out, e.frontier(s, p, q, visited)...)
		}
	}
	sort.Strings(out)
	return out
}

// fillUp completes a short list with the level's popular resources that the pupil may
// work on (not rejected, not gated, not already ranked), scored like any candidate but
// below every need-driven one.
func (e *Engine) fillUp(s *snapshot, p *pupil, subject string, have []scored, n int) []scored {
	in := map[int]bool{}
	for _, c := range have {
		in[c.idx] = true
	}
	var idx []int
	for _, c := range e.fallbackRanked(s, p.st.Level, subject, p.latest) {
		if len(idx) >= 4*n {
			break
		}
		if !in[c.idx] && !c.pinned {
			idx = append(idx, c.idx)
		}
	}
	out := e.score(s, p, idx)
	for i := range out {
		out[i].score *= 1e-3
	}
	return out[:min(n, len(out))]
}

// bestFitting returns up to n allowed resources of competency c, best fit first.
func (e *Engine) bestFitting(s *snapshot, p *pupil, c string, allowed func(*datasets.Resource) bool, n int) []int {
	type fitted struct {
		i   int
		fit float64
	}
	var fs []fitted
	for _, i := range s.cat.ResourcesFor(c) {
		r := &s.cat.Resources[i]
		if !allowed(r) || !e.typeFits(p, r) {
			continue
		}
		fs = append(fs, fitted{i, e.fitTo(p.pol.target, s.model.Predict(p.prof, r))})
	}
	sort.Slice(fs, func(a, b int) bool {
		if fs[a].fit != fs[b].fit {
			return fs[a].fit > fs[b].fit
		}
		return s.cat.Resources[fs[a].i].ID < s.cat.Resources[fs[b].i].ID
	})
	out := make([]int, 0, min(n, len(fs)))
	for _, f := range fs[:min(n, len(fs))] {
		out = append(out, f.i)
	}
	return out
}

// topNeeds returns up to n competencies of the subject (any when empty) with need at
// least thr, strongest first.
func topNeeds(cat *datasets.Catalogue, p *features.Profile, subject string, thr float64, n int) []string {
	var ids []string
	for id, cs := range p.Competencies {
		k, ok := cat.Competency(id)
		if ok && cs.Need >= thr && (subject == "" || k.Subject == subject) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(a, b int) bool {
		na, nb := p.Competencies[ids[a]].Need, p.Competencies[ids[b]].Need
		if na != nb {
			return na > nb
		}
		return ids[a] < ids[b]
	})
	return ids[:min(n, len(ids))]
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// fit is how well a predicted success probability sits in the target band.
func (e *Engine) fit(s *snapshot, p float64) float64 { return e.fitTo(s.target, p) }

// fitTo is fit around a given target (a request's policy may move it).
func (e *Engine) fitTo(target, p float64) float64 {
	if e.cfg.NoFit {
		return 1
	}
	z := (p - target) / e.cfg.Band
	return math.Exp(-z * z)
}

// missedNeed is the least need a competency of a recently missed lesson gets: the lesson
// taught something the pupil did not hear, even when earlier marks on it were good.
func (e *Engine) missedNeed(p *features.Profile, c string) float64 {
	if e.masteredWithEvidence(p, c) {
		return 0.3
	}
	return 0.5
}

// scored is one ranked candidate with the evidence behind its score.
type scored struct {
	idx      int
	comp     string // the competency that drives the benefit
	need     float64
	p        float64
	fit      float64
	score    float64
	pinned   bool
	approved bool
	missed   *features.MissedLesson
	unblocks string // a needed competency this resource's competency is a prerequisite of
	novelty  float64
	pos      int     // best syllabus position of its competencies (sylNone when none)
	posComp  string  // the competency in that position
	co       float32 // co-usage with what the pupil used
	neigh    float64 // share of the nearest profiles who succeeded on it
	rel      float64 // the re-ranker's probability of uptake with success
	// coLift and neighLift are the log-odds the co-usage and neighbour features added to
	// rel: a collaborative reason is given only when they lifted the item.
	coLift, neighLift float64
}

// mastered tells whether a prerequisite does not hold the pupil back: P(mastery) at
// least the threshold, or no evidence at all on it (absence of evidence is not a gap).
func (e *Engine) mastered(p *features.Profile, c string) bool {
	cs, ok := p.Competencies[c]
	if !ok || (cs.N == 0 && cs.GradeN == 0) {
		return true
	}
	return cs.PMastery >= e.cfg.MasteryThreshold
}

// gated tells whether competency c has a prerequisite the pupil has not mastered.
func (e *Engine) gated(s *snapshot, p *features.Profile, c string) bool {
	k, ok := s.cat.Competency(c)
	if !ok || e.cfg.NoGating {
		return false
	}
	for _, q := range k.Prerequisites {
		if !e.mastered(p, q) {
			return true
		}
	}
	return false
}

// score ranks candidates by expected learning: the fitted re-ranker's probability that
// the pupil then takes the resource up and succeeds (see rerank.go) times the fit of its
// predicted success to the target band; before any fit (too little logged data), by
// benefit = need × fit × novelty (× unblock bonus). Gated competencies are dropped
// unless pinned; approved ones get a fifth more; pinned on top. Sorted best first, ties
// by id.
func (e *Engine) score(s *snapshot, p *pupil, idx []int) []scored {
	out := make([]scored, 0, len(idx))
	for _, i := range idx {
		r := &s.cat.Resources[i]
		d, hasD := p.latest[r.ID]
		c := scored{idx: i, pinned: hasD && d.Decision == DecisionPin, approved: hasD && d.Decision == DecisionApprove}
		blocked := false
		for _, k := range r.Competencies {
			if e.gated(s, p.prof, k) {
				blocked = true
			}
			need := p.prof.Competencies[k].Need
			var ml *features.MissedLesson
			if m, ok := p.missed[k]; ok {
				mm := m
				ml = &mm
				need = max(need, e.missedNeed(p.prof, k))
			}
			if c.comp == "" || need > c.need {
				c.comp, c.need, c.missed = k, need, ml
			}
		}
		if blocked && !c.pinned {
			continue
		}
		if p.completed[r.ID] && !isStudy(r) && !c.pinned && !c.approved && !e.cfg.NoNovelty {
			// A practice item the pupil has completed is not listed again: a fresh item on
			// the same competency teaches more than a repeat whose answers they have seen.
			continue
		}
		c.p = s.model.Predict(p.prof, r)
		c.fit = e.fitTo(p.pol.target, c.p)
		if p.pol.explore == ExploreThompson {
			c.fit = e.fitTo(p.pol.target, e.thompson(p.prof, c.comp, c.p))
		}
		c.novelty = 1
		switch {
		case e.cfg.NoNovelty:
		case p.completed[r.ID]:
			c.novelty = 0.3
		case p.seen[r.ID]:
			c.novelty = 0.7
		}
		c.unblocks = e.unblocks(s, p.prof, c.comp)
		c.pos, c.posComp = p.pos[c.comp], c.comp
		for _, k := range r.Competencies {
			if pos := p.pos[k]; pos != sylNone && (c.pos == sylNone || pos < c.pos) {
				c.pos, c.posComp = pos, k
			}
		}
		c.co = p.co[int32(i)]
		c.neigh = p.neigh[int32(i)]
		if p.pol.ranker == RankerLearning {
			c.score = (c.need + 0.2) * c.fit * c.novelty
		} else if s.agg.Ranker.usable() && !p.pol.noReRanker {
			// Expected learning: the chance the pupil takes it up and succeeds (the fitted
			// re-ranker) times how much practice at that predicted success teaches (fit).
			x := e.featuresOf(p, r, &c)
			c.rel = sigmoid(s.agg.Ranker.logit(&x))
			c.score = c.rel * c.fit
			if p.pol.ranker == RankerBlend {
				c.score = math.Sqrt(c.rel) * c.fit * (c.need + 0.2)
			}
			c.coLift = s.agg.Ranker.Weights[fCoUsage] * x[fCoUsage]
			c.neighLift = s.agg.Ranker.Weights[fNeighbours] * x[fNeighbours]
		} else {
			c.score = (c.need + 0.05) * c.fit * c.novelty
			if c.unblocks != "" {
				c.score *= 1.1
			}
		}
		if c.approved {
			c.score *= 1.2
		}
		if c.pinned {
			c.score += 10
		}
		out = append(out, c)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].score != out[b].score {
			return out[a].score > out[b].score
		}
		return s.cat.Resources[out[a].idx].ID < s.cat.Resources[out[b].idx].ID
	})
	return out
}

// masteredWithEvidence tells whether the pupil shows mastery of c (then a missed lesson on
// it needs no catch-up).
func (e *Engine) masteredWithEvidence(p *features.Profile, c string) bool {
	cs, ok := p.Competencies[c]
	return ok && (cs.N > 0 || cs.GradeN > 0) && cs.PMastery >= e.cfg.MasteryThreshold
}

// unblocks returns the most needed competency that has c as a prerequisite, when the
// pupil has not mastered c and needs that dependent; "" otherwise.
func (e *Engine) unblocks(s *snapshot, p *features.Profile, c string) string {
	if c == "" || e.mastered(p, c) {
		return ""
	}
	best, bestNeed := "", 0.0
	for _, d := range s.cat.Dependents(c) {
		if n := p.Competencies[d].Need; n >= e.cfg.NeedThreshold && n > bestNeed {
			best, bestNeed = d, n
		}
	}
	return best
}

// selectList picks k items greedily by maximal marginal relevance: (1-λ)·score/max -
// λ·(largest similarity to an item already picked), where two resources are similar
// when they share a competency. Pinned items are picked first. Study material takes at
// most a fifth of the slots (at least one), and only where the pupil needs teaching
// (typeFits): the other slots are for practice. Deterministic.
func (e *Engine) selectList(s *snapshot, p *pupil, ranked []scored, k int) []scored {
	maxStudy := k
	if !e.cfg.NoTypeRule {
		maxStudy = max(1, k/5)
	}
	keep := ranked[:0:0]
	for _, c := range ranked {
		r := &s.cat.Resources[c.idx]
		if c.pinned || c.approved || e.typeFits(p, r) {
			keep = append(keep, c)
		}
	}
	return mmr(s.cat, keep, k, e.cfg.Diversity, maxStudy)
}

// mmr picks k items by maximal marginal relevance (see selectList), at most maxStudy of
// them study material unless pinned.
func mmr(cat *datasets.Catalogue, ranked []scored, k int, lambda float64, maxStudy int) []scored {
	if len(ranked) == 0 {
		return nil
	}
	var picked []scored
	used := make([]bool, len(ranked))
	for i, c := range ranked {
		if c.pinned && len(picked) < k {
			picked = append(picked, c)
			used[i] = true
		}
	}
	top := 0.0
	for _, c := range ranked {
		if !c.pinned {
			top = max(top, c.score)
		}
	}
	if top <= 0 {
		top = 1
	}
	study := 0
	for len(picked) < k {
		best, bestVal := -1, math.Inf(-1)
		for i, c := range ranked {
			if used[i] || (study >= maxStudy && isStudy(&cat.Resources[c.idx])) {
				continue
			}
			red := 0.0
			for _, q := range picked {
				red = max(red, similarity(&cat.Resources[c.idx], &cat.Resources[q.idx]))
			}
			v := (1-lambda)*c.score/top - lambda*red
			if v > bestVal { // ranked is sorted by score then id: the first best wins ties
				best, bestVal = i, v
			}
		}
		if best < 0 {
			break
		}
		used[best] = true
		if isStudy(&cat.Resources[ranked[best].idx]) {
			study++
		}
		picked = append(picked, ranked[best])
	}
	return picked
}

// similarity is 1 when two resources share a competency. Types do not count: a type
// term would push study material into practice slots for variety's sake.
func similarity(a, b *datasets.Resource) float64 {
	for _, c := range a.Competencies {
		if contains(b.Competencies, c) {
			return 1
		}
	}
	return 0
}

// item renders a ranked candidate with its explanation.
func (e *Engine) item(s *snapshot, p *pupil, c scored, lang string) Item {
	r := &s.cat.Resources[c.idx]
	return Item{
		ResourceID:   r.ID,
		Title:        r.Title,
		Subject:      r.Subject,
		Type:         r.Type,
		Competencies: append([]string(nil), r.Competencies...),
		Difficulty:   s.model.Difficulty(r),
		PSuccess:     round(c.p, 4),
		Score:        round(c.score, 6),
		Reasons:      e.explain(s, p, c, lang),
		URL:          r.URL,
	}
}

func round(x float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(x*f) / f
}
