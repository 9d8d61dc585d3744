package recommender

import (
	"hash/fnv"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// rankerL2 is the re-ranker's L2 penalty: small, it only keeps the weights finite when
// a feature never varies in the logged data.
const rankerL2 = 1e-4

// featuresOf is the re-ranker's view of one scored candidate.
func (e *Engine) featuresOf(p *pupil, r *datasets.Resource, c *scored) [nFeatures]float64 {
	var x [nFeatures]float64
	x[fBias] = 1
	x[fFit] = c.fit
	x[fPSuccess] = c.p
	x[fNeed] = c.need
	switch c.pos {
	case sylCurrent:
		x[fSylCurrent] = 1
	case sylPrevious:
		x[fSylPrev] = 1
	case sylNext:
		x[fSylNext] = 1
	}
	x[fCoUsage] = math.Log1p(float64(c.co))
	x[fNeighbours] = c.neigh
	switch {
	case p.completed[r.ID]:
		x[fCompleted] = 1
	case p.seen[r.ID]:
		x[fSeen] = 1
	}
	if isStudy(r) {
		x[fStudy] = 1
	}
	if c.missed != nil {
		x[fMissed] = 1
	}
	if r.Level != p.st.Level {
		x[fBelow] = 1
	}
	if c.unblocks != "" {
		x[fUnblocks] = 1
	}
	return x
}

// fitRanking derives, at Refit, the syllabus and co-usage from the consenting pupils'
// data, then fits the re-ranker on a temporal validation split of that same data: the
// last ValidationWindow before the data's clock is held out; for a seeded sample of
// pupils, profiles, syllabus and co-usage are rebuilt from what came before it, the
// candidates are generated as a request would, and each is labelled by whether the
// pupil then succeeded on it within the window (on a resource not succeeded on before).
// The student model's item difficulties are the ones fitted on all the data (a mild
// look-ahead the ranking features share with serving). When the data are too few or
// the fit does not beat the base rate, no ranker is stored and requests use the
// hand-made benefit.
//
// The pupils come from src, one pass per use (the refit streams them from the store);
// only the sampled pupils' events are held. src's errors are its owner's to report.
func (e *Engine) fitRanking(agg *aggregates, cat *datasets.Catalogue, model *features.Model, layout *features.Layout, src features.PupilSource) {
	var pupils []features.PupilEvents
	tee(src, // one read of the pupils for the three
		func(s features.PupilSource) { agg.Syllabus = buildSyllabusFrom(cat, s, time.Time{}) },
		func(s features.PupilSource) { agg.CoUsage = buildCoUsageFrom(cat, s, time.Time{}) },
		func(s features.PupilSource) { pupils = e.rankerPupils(s) })
	agg.Ranker, agg.Target = nil, nil
	if agg.Clock.IsZero() {
		return
	}
	sample := e.rankerSample(pupils)
	// The target read from the data is stored whatever the configuration, so that an
	// engine configured with PARCOURS_TARGET_SUCCESS=auto (or an offline variant sharing
	// this fitted state) uses it; a configured target takes precedence (effectiveTarget).
	tc := chooseTarget(cat, model, pupils, sample)
	agg.Target = &tc
	if e.cfg.NoReRanker {
		return
	}
	cut := agg.Clock.Add(-e.cfg.ValidationWindow)
	var cutSyl syllabus
	var cutCo map[string][]coHit
	tee(src,
		func(s features.PupilSource) { cutSyl = buildSyllabusFrom(cat, s, cut) },
		func(s features.PupilSource) { cutCo = buildCoUsageFrom(cat, s, cut) })
	s0 := &snapshot{cat: cat, model: model, agg: aggregates{Syllabus: cutSyl}}
	s0.target = effectiveTarget(e.cfg.TargetSuccess, agg)
	s0.co = newCoIndex(cat, cutCo)
	var rows [][nFeatures]float64
	var ys []bool
	type held struct {
		p             *pupil
		before, after map[string]bool
	}
	var hs []held
	var profs []*features.Profile
	var vecs [][]float32
	for _, i := range sample {
		ev := &pupils[i]
		before, after := successesAround(ev.Statements, cut)
		prof, err := model.BuildProfile(cat, eventsBefore(ev, cut), cut)
		if err != nil || !hasEvidence(&prof) {
			continue
		}
		p := &pupil{st: ev.Student, latest: map[string]Decision{}, seen: map[string]bool{}, completed: map[string]bool{}, missed: map[string]features.MissedLesson{}}
		e.setProfile(p, &prof)
		hs = append(hs, held{p, before, after})
		profs = append(profs, p.prof)
		vecs = append(vecs, layout.StudentVector(p.prof))
	}
	for k, h := range hs {
		p := h.p
		e.prepare(s0, p, "")
		if e.cfg.Neighbours {
			p.neigh = sampleNeighbours(cat, profs, vecs, k)
		}
		cs := newCandSet(e.cfg.MaxCandidates)
		e.pool(s0, p, "", e.allowedFor(p, "", levelsFor(p.st.Level)), cs)
		for _, c := range e.score(s0, p, cs.out) {
			r := &cat.Resources[c.idx]
			rows = append(rows, e.featuresOf(p, r, &c))
			ys = append(ys, h.after[r.ID] && !h.before[r.ID])
		}
	}
	n := len(hs)
	rk, err := fitLogistic(rows, ys, rankerL2)
	if err != nil {
		slog.Info("re-ranker not fitted", "reason", err.Error())
		return
	}
	rk.Pupils = n
	if rk.LogLoss >= rk.BaseLogLoss {
		slog.Info("re-ranker not used: no better than the base rate", "log_loss", rk.LogLoss, "base", rk.BaseLogLoss)
		return
	}
	agg.Ranker = rk
}

// rankerSample picks up to RankerPupils pupils with usage, by a seeded hash of their id
// (stable as pupils come and go).
func (e *Engine) rankerSample(pupils []features.PupilEvents) []int {
	type h struct {
		i int
		h uint64
	}
	var hs []h
	for i := range pupils {
		if len(pupils[i].Statements) == 0 {
			continue
		}
		f := fnv.New64a()
		f.Write([]byte(pupils[i].Student.ID))
		hs = append(hs, h{i, f.Sum64() ^ e.cfg.Seed*0x9e3779b97f4a7c15})
	}
	sort.Slice(hs, func(a, b int) bool { return hs[a].h < hs[b].h })
	out := make([]int, 0, min(len(hs), e.cfg.RankerPupils))
	for _, x := range hs[:min(len(hs), e.cfg.RankerPupils)] {
		out = append(out, x.i)
	}
	sort.Ints(out)
	return out
}

// rankerPupils keeps, in source order, the events of the pupils rankerSample would pick
// among all of src's (a bounded heap over one pass): rankerSample on them picks them all.
func (e *Engine) rankerPupils(src features.PupilSource) []features.PupilEvents {
	type kept struct {
		h   uint64
		pos int
		ev  features.PupilEvents
	}
	var hp []kept // max-heap on h: the root is the first to go
	less := func(a, b int) bool { return hp[a].h > hp[b].h }
	down := func(i int) {
		for {
			l, m := 2*i+1, i
			if l < len(hp) && less(l, m) {
				m = l
			}
			if r := l + 1; r < len(hp) && less(r, m) {
				m = r
			}
			if m == i {
				return
			}
			hp[i], hp[m] = hp[m], hp[i]
			i = m
		}
	}
	up := func(i int) {
		for i > 0 {
			p := (i - 1) / 2
			if !less(i, p) {
				return
			}
			hp[i], hp[p] = hp[p], hp[i]
			i = p
		}
	}
	n, pos := e.cfg.RankerPupils, 0
	_ = src(func(ev *features.PupilEvents) error {
		pos++
		if len(ev.Statements) == 0 || n <= 0 {
			return nil
		}
		f := fnv.New64a()
		f.Write([]byte(ev.Student.ID))
		h := f.Sum64() ^ e.cfg.Seed*0x9e3779b97f4a7c15
		switch {
		case len(hp) < n:
			hp = append(hp, kept{h, pos, *ev})
			up(len(hp) - 1)
		case h < hp[0].h:
			hp[0] = kept{h, pos, *ev}
			down(0)
		}
		return nil
	})
	sort.Slice(hp, func(a, b int) bool { return hp[a].pos < hp[b].pos })
	out := make([]features.PupilEvents, len(hp))
	for i := range hp {
		out[i] = hp[i].ev
	}
	return out
}

// successesAround splits the resources a pupil succeeded on at the cut.
func successesAround(stmts []datasets.Statement, cut time.Time) (before, after map[string]bool) {
	before, after = map[string]bool{}, map[string]bool{}
	for _, s := range stmts {
		if ok, has := s.Outcome(); ok && has {
			if s.Timestamp.Before(cut) {
				before[s.ObjectID] = true
			} else {
				after[s.ObjectID] = true
			}
		}
	}
	return before, after
}

// eventsBefore is the pupil's events dated strictly before the cut (datasets.Events.Before).
func eventsBefore(ev *features.PupilEvents, cut time.Time) features.PupilEvents {
	b := datasets.Events{Grades: ev.Grades, Absences: ev.Absences, Lessons: ev.Lessons, Statements: ev.Statements}.Before(cut)
	return features.PupilEvents{Student: ev.Student, Grades: b.Grades, Absences: b.Absences, Lessons: b.Lessons, Statements: b.Statements}
}
