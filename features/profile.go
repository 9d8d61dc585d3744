package features

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// refTable holds what profiles need from one catalogue, computed once.
type refTable struct {
	cat        *datasets.Catalogue
	levelComps map[string][]string // level -> competency ids of that level, sorted
}

func (m *Model) refs(cat *datasets.Catalogue) *refTable {
	if t := m.ref.Load(); t != nil && t.cat == cat {
		return t
	}
	t := &refTable{cat: cat, levelComps: map[string][]string{}}
	for _, k := range cat.Competencies {
		t.levelComps[k.Level] = append(t.levelComps[k.Level], k.ID)
	}
	for _, ids := range t.levelComps {
		sort.Strings(ids)
	}
	m.ref.Store(t)
	return t
}

// pupilObs validates a pupil's events and returns the model's observations dated by asOf
// in time order, with the usage features folded in the same pass when withUsage.
func pupilObs(cat *datasets.Catalogue, ev *PupilEvents, asOf time.Time, withUsage bool) ([]obs, UsageFeatures, []string, error) {
	var u UsageFeatures
	out := make([]obs, 0, len(ev.Grades)+len(ev.Statements)+len(ev.Lessons))
	for i := range ev.Grades {
		g := &ev.Grades[i]
		o, ok, err := gradeObs(cat, g)
		if err != nil {
			return nil, u, nil, err
		}
		if ok && !g.Date.After(asOf) {
			out = append(out, o)
		}
	}
	for i := range ev.Statements {
		if err := checkStatement(&ev.Statements[i]); err != nil {
			return nil, u, nil, err
		}
	}
	var at attemptTracker
	acc := usageAcc{&u}
	sts := sortedStatements(ev.Statements, asOf)
	for i := range sts {
		s := &sts[i]
		if !feeds(s.Verb) {
			continue
		}
		o, has, counted := at.observe(cat, s)
		if withUsage {
			_, known := cat.ResourceIndex(s.ObjectID)
			acc.add(s, known, counted)
		}
		if has {
			out = append(out, o)
		}
	}
	out = append(out, lessonObs(cat, ev, asOf)...)
	slices.SortStableFunc(out, func(a, b obs) int { return a.t.Compare(b.t) })
	if u.Seen == nil {
		u.Seen = []string{}
	}
	if u.Completed == nil {
		u.Completed = []string{}
	}
	return out, u, at, nil
}

// lessonObs returns the lessons of the pupil's class that started by asOf as learning
// opportunities on their catalogue competencies: missed when the pupil's absences cover
// at least MissedShare of it, else attended.
func lessonObs(cat *datasets.Catalogue, ev *PupilEvents, asOf time.Time) []obs {
	if len(ev.Lessons) == 0 {
		return nil
	}
	ls := sortedLessons(ev.Lessons)
	miss := lessonMisses(sortedAbsences(ev.Absences, asOf), ls, asOf)
	out := make([]obs, 0, len(ls))
	for i := range ls {
		l := &ls[i]
		if l.Start.After(asOf) {
			break
		}
		comps := l.Competencies // shared, never written
		for j, c := range l.Competencies {
			if _, ok := cat.CompetencyIndex(c); !ok {
				comps = slices.Clone(l.Competencies[:j])
				for _, c := range l.Competencies[j+1:] {
					if _, ok := cat.CompetencyIndex(c); ok {
						comps = append(comps, c)
					}
				}
				break
			}
		}
		if len(comps) == 0 {
			continue
		}
		kind := lessonAttended
		if m, ok := miss[i]; ok && l.End.After(l.Start) && float64(m.ov) >= MissedShare*float64(l.End.Sub(l.Start)) {
			kind = lessonMissed
		}
		out = append(out, obs{t: l.Start, comps: comps, lesson: kind})
	}
	return out
}

// BuildProfile recomputes one pupil's profile from their events dated by asOf, with the
// current item parameters (which it does not change). A malformed event (score above
// out_of, NaN, unknown competency or status, scaled score outside -1..1) is an error
// wrapping datasets.ErrInvalid, and no profile is returned.
func (m *Model) BuildProfile(cat *datasets.Catalogue, ev PupilEvents, asOf time.Time) (Profile, error) {
	p, err := m.buildProfile(cat, &ev, asOf, m.refs(cat))
	if err != nil {
		return Profile{}, fmt.Errorf("features.BuildProfile: student %q: %w", ev.Student.ID, err)
	}
	return p, nil
}

func (m *Model) buildProfile(cat *datasets.Catalogue, ev *PupilEvents, asOf time.Time, rt *refTable) (Profile, error) {
	os, usage, open, err := pupilObs(cat, ev, asOf, true)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{StudentID: ev.Student.ID, SchoolID: ev.Student.SchoolID, ClassID: ev.Student.ClassID,
		Level: ev.Student.Level, SchemaVersion: SchemaVersion, AsOf: asOf,
		Competencies: make(map[string]CompetencyState, len(rt.levelComps[ev.Student.Level])+16), Usage: usage, OpenAttempts: open}
	for i := range os {
		m.step(&p, &os[i], false)
	}
	byComp, bySubject := GradeFeatures(ev.Grades, asOf, m.cfg.GradeHalfLife)
	if len(bySubject) > 0 {
		p.Subjects = bySubject
	}
	p.Absence = AbsenceSummary(ev.Absences, ev.Lessons, asOf)
	p.Missed = MissedLessons(ev.Absences, ev.Lessons, asOf)

	taught := map[string]bool{}
	for i := range ev.Lessons {
		if l := &ev.Lessons[i]; !l.Start.After(asOf) {
			for _, c := range l.Competencies {
				taught[c] = true
			}
		}
	}
	add := func(c string) {
		if _, ok := cat.CompetencyIndex(c); ok {
			if _, ok := p.Competencies[c]; !ok {
				p.Competencies[c] = CompetencyState{}
			}
		}
	}
	for c := range taught {
		add(c)
	}
	for _, c := range rt.levelComps[p.Level] {
		add(c)
	}
	for c := range byComp {
		add(c)
	}
	for _, ml := range p.Missed {
		for _, c := range ml.Competencies {
			add(c)
		}
	}
	for _, ml := range p.Missed {
		for _, c := range ml.Competencies {
			if cs, ok := p.Competencies[c]; ok && ml.Start.After(cs.LastMissed) {
				cs.LastMissed = ml.Start
				p.Competencies[c] = cs
			}
		}
	}
	for c, cs := range p.Competencies {
		if g, ok := byComp[c]; ok {
			cs.GradeMean, cs.GradeN, cs.GradeWeight, cs.Trend = g.Mean, g.N, g.Weight, g.Trend
		}
		k, _ := cat.Competency(c)
		cs.Relevance = relevance(k, p.Level, taught[c], len(ev.Lessons) > 0, cs.N > 0 || cs.GradeN > 0)
		p.Competencies[c] = cs
	}
	m.refresh(&p)
	return p, nil
}

// refresh recomputes the derived fields of every competency state: Theta, PMastery and
// Need (after the global ability moved, all of them change).
func (m *Model) refresh(p *Profile) {
	lw := m.localWeight()
	for c, cs := range p.Competencies {
		cs.Theta = p.Global + lw*m.local(c, cs)
		cs.PMastery = sigmoid(cs.Theta)
		cs.Need = need(cs, p.AsOf)
		p.Competencies[c] = cs
	}
}

// Fit learns item difficulties from every pupil's events (FitItems), then returns each
// pupil's profile as of asOf (in the order of pupils) computed with the final
// difficulties, so that a profile from Fit equals the one BuildProfile gives afterwards.
// Profiles are built in parallel. FitFrom does the same without holding every profile.
func (m *Model) Fit(cat *datasets.Catalogue, pupils []PupilEvents, asOf time.Time) ([]Profile, error) {
	out := make([]Profile, 0, len(pupils))
	err := m.FitFrom(cat, SliceSource(pupils), asOf, func(ps []Profile) error {
		out = append(out, ps...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FitItems learns the item and competency parameters from every pupil's events dated by
// asOf, replacing the previous ones; profiles are left to BuildProfile.
//
// Items learn pupil after pupil, each pupil's outcomes in time order (memory stays that
// of one chunk of pupils' observations; with K shrinking as an item gathers attempts, the
// order of pupils matters little).
func (m *Model) FitItems(cat *datasets.Catalogue, pupils []PupilEvents, asOf time.Time) error {
	return m.FitItemsFrom(cat, SliceSource(pupils), asOf)
}

func (m *Model) fitItems(cat *datasets.Catalogue, src PupilSource, asOf time.Time) error {
	m.resources, m.assess, m.offsets = map[string]itemParam{}, map[string]itemParam{}, map[string]itemParam{}
	m.fitting = map[string]*offsetSum{}
	m.layer, m.sample = nil, nil
	m.lessonEff, m.lessonN = [2]float64{}, 0
	m.skillPFA, m.skillN = map[string][2]float64{}, map[string]int{}
	if !m.cfg.Plain && !m.cfg.NoLayer {
		m.sample = newLayerSample()
	}
	defer func() { m.fitting, m.sample, m.skillN = nil, nil, nil }()
	m.ref.Store(nil)
	// Observations are extracted in parallel a chunk of pupils at a time; the items
	// learn from them sequentially, in pupil order, so the result does not depend on
	// the number of cores.
	obsOf := make([][]obs, fitChunk)
	err := chunks(src, fitChunk, func(ps []PupilEvents) error {
		errs := make([]error, len(ps))
		_ = parallel(len(ps), func(i int) error {
			obsOf[i], _, _, errs[i] = pupilObs(cat, &ps[i], asOf, false)
			return nil
		})
		for i := range ps {
			if err := errs[i]; err != nil {
				return fmt.Errorf("student %q: %w", ps[i].Student.ID, err)
			}
			p := Profile{Competencies: make(map[string]CompetencyState, 16)}
			os := obsOf[i]
			for j := range os {
				m.step(&p, &os[j], true)
			}
			obsOf[i] = nil
		}
		return nil
	})
	if err != nil {
		return err
	}
	for c, a := range m.fitting {
		if a.n > 0 {
			m.offsets[c] = itemParam{D: a.sum / float64(a.n), N: a.n}
		}
	}
	m.fitting = nil // offsets are final: profiles read them from now on
	if m.sample != nil {
		m.layer = fitLayer(m.sample.rows)
		m.sample = nil
	}
	m.version = m.hash()
	return nil
}

// Update applies one xAPI statement to a stored profile without a rebuild: usage
// features, the pupil's abilities (when the statement carries an outcome on a catalogue
// resource) and every competency's Theta, PMastery and Need. Item parameters do not
// change. A malformed statement is an error wrapping datasets.ErrInvalid and leaves the
// profile untouched. Statements must arrive in time order; a voiding statement needs a
// rebuild (BuildProfile) since what it withdraws is already folded in. p.Vector is not
// recomputed: call Layout.StudentVector.
func (m *Model) Update(cat *datasets.Catalogue, p *Profile, s datasets.Statement) error {
	if err := checkStatement(&s); err != nil {
		return fmt.Errorf("features.Update: %w", err)
	}
	if !feeds(s.Verb) {
		return nil
	}
	if p.Competencies == nil {
		p.Competencies = map[string]CompetencyState{}
	}
	at := attemptTracker(p.OpenAttempts)
	o, has, counted := at.observe(cat, &s)
	p.OpenAttempts = at
	_, known := cat.ResourceIndex(s.ObjectID)
	usageAcc{&p.Usage}.add(&s, known, counted)
	if s.Timestamp.After(p.AsOf) {
		p.AsOf = s.Timestamp
	}
	if !has {
		return nil
	}
	m.step(p, &o, false)
	for _, c := range o.comps {
		cs := p.Competencies[c]
		if cs.Relevance == 0 {
			k, _ := cat.Competency(c)
			cs.Relevance = relevance(k, p.Level, false, true, true)
			p.Competencies[c] = cs
		}
	}
	m.refresh(p)
	return nil
}

// UpdateGrade applies one grade to a stored profile: the abilities, and the grade
// features of its competencies and subject are left as they were until the next
// rebuild (they need the whole series). A malformed grade is an error wrapping
// datasets.ErrInvalid and leaves the profile untouched.
func (m *Model) UpdateGrade(cat *datasets.Catalogue, p *Profile, g datasets.Grade) error {
	o, ok, err := gradeObs(cat, &g)
	if err != nil {
		return fmt.Errorf("features.UpdateGrade: %w", err)
	}
	if !ok {
		return nil
	}
	if p.Competencies == nil {
		p.Competencies = map[string]CompetencyState{}
	}
	if g.Date.After(p.AsOf) {
		p.AsOf = g.Date
	}
	m.step(p, &o, false)
	for _, c := range o.comps {
		cs := p.Competencies[c]
		if cs.Relevance == 0 {
			k, _ := cat.Competency(c)
			cs.Relevance = relevance(k, p.Level, false, true, true)
			p.Competencies[c] = cs
		}
	}
	m.refresh(p)
	return nil
}

// UpdateLesson applies one lesson of the pupil's class to a stored profile: a learning
// opportunity on each of its catalogue competencies (attended, or missed when the pupil
// was away for at least MissedShare of it), then every competency's Theta, PMastery and
// Need. Lessons must arrive in time order, after the answers that preceded them; a
// lesson without catalogue competencies changes nothing.
func (m *Model) UpdateLesson(cat *datasets.Catalogue, p *Profile, l datasets.Lesson, missed bool) {
	ev := PupilEvents{Lessons: []datasets.Lesson{l}}
	os := lessonObs(cat, &ev, l.Start)
	if len(os) == 0 {
		return
	}
	if missed {
		os[0].lesson = lessonMissed
	}
	if p.Competencies == nil {
		p.Competencies = map[string]CompetencyState{}
	}
	m.step(p, &os[0], false)
	if l.Start.After(p.AsOf) {
		p.AsOf = l.Start
	}
	m.refresh(p)
}
