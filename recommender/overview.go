package recommender

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// NoGroup is the group of a pupil left out of the clustering (no consent or no data).
const NoGroup = -1

// maxLabelComps is how many shared needs a group's label names.
const maxLabelComps = 3

// ClassOverview shows a teacher each consenting pupil's needs per competency and groups
// of pupils with similar needs (k-means, k chosen by silhouette). It reads no profile of
// a pupil without consent.
func (e *Engine) ClassOverview(ctx context.Context, classID, lang string) (Overview, error) {
	return e.ClassOverviewFor(ctx, classID, "", lang)
}

// ClassOverviewFor is ClassOverview on one subject's competencies (every subject when
// subject is empty): the needs shown and the groups formed are that subject's only.
func (e *Engine) ClassOverviewFor(ctx context.Context, classID, subject, lang string) (Overview, error) {
	s := e.snap.Load()
	sts, err := e.store.ClassStudents(ctx, classID)
	if err != nil {
		return Overview{}, fmt.Errorf("recommender.ClassOverview: class %q: %w", classID, storeErr(err))
	}
	if len(sts) == 0 {
		return Overview{}, fmt.Errorf("recommender.ClassOverview: class %q: %w", classID, ErrNotFound)
	}
	sort.Slice(sts, func(a, b int) bool { return sts[a].ID < sts[b].ID })
	var ids []string
	for _, st := range sts {
		if st.Consent {
			ids = append(ids, st.ID)
		}
	}
	profs := map[string]*features.Profile{}
	if len(ids) > 0 {
		ps, err := e.store.Profiles(ctx, ids)
		if err != nil {
			return Overview{}, fmt.Errorf("recommender.ClassOverview: profiles: %w", storeErr(err))
		}
		for i := range ps {
			if hasEvidence(&ps[i]) {
				profs[ps[i].StudentID] = &ps[i]
			}
		}
	}
	comps := e.overviewCompetencies(profs)
	if subject != "" {
		comps = slices.DeleteFunc(comps, func(c string) bool {
			cp, ok := s.cat.Competency(c)
			return !ok || cp.Subject != subject
		})
	}
	ov := Overview{ClassID: classID, Subject: subject, Competencies: comps, GeneratedAt: e.cfg.Now(), Pupils: make([]PupilNeeds, 0, len(sts)), Groups: []Group{}}
	var rows [][]float64
	var rowPupil []int
	for _, st := range sts {
		pn := PupilNeeds{StudentID: st.ID, Needs: []CompetencyNeed{}, Group: NoGroup}
		if p, ok := profs[st.ID]; ok && st.Consent {
			pn.Personal = true
			row := make([]float64, len(comps))
			for j, c := range comps {
				cs := p.Competencies[c]
				row[j] = cs.Need
				pn.Needs = append(pn.Needs, CompetencyNeed{Competency: c, Need: round(cs.Need, 4), PMastery: round(cs.PMastery, 4)})
			}
			rows = append(rows, row)
			rowPupil = append(rowPupil, len(ov.Pupils))
		}
		ov.Pupils = append(ov.Pupils, pn)
	}
	if len(rows) == 0 || len(comps) == 0 {
		return ov, nil
	}
	assign, centroids := chooseClusters(rows, 5, e.cfg.Seed)
	for g, cen := range centroids {
		grp := Group{ID: g, Students: []string{}, Competencies: sharedNeeds(comps, cen, e.cfg.NeedThreshold)}
		for r, a := range assign {
			if a == g {
				pi := rowPupil[r]
				ov.Pupils[pi].Group = g
				grp.Students = append(grp.Students, ov.Pupils[pi].StudentID)
			}
		}
		grp.Label = groupLabel(s.cat, grp.Competencies, lang)
		ov.Groups = append(ov.Groups, grp)
	}
	return ov, nil
}

// overviewCompetencies lists the competencies some pupil has evidence or a need on,
// most needed on average first (ties by id).
func (e *Engine) overviewCompetencies(profs map[string]*features.Profile) []string {
	sum := map[string]float64{}
	for _, p := range profs {
		for c, cs := range p.Competencies {
			if _, ok := sum[c]; !ok && (cs.N > 0 || cs.GradeN > 0 || cs.Need >= e.cfg.NeedThreshold) {
				sum[c] = 0
			}
		}
	}
	for _, p := range profs {
		for c := range sum {
			sum[c] += p.Competencies[c].Need
		}
	}
	out := sortedKeys(sum)
	sort.SliceStable(out, func(a, b int) bool { return sum[out[a]] > sum[out[b]] })
	return out
}

// sharedNeeds names the competencies a group's centroid needs, strongest first.
func sharedNeeds(comps []string, centroid []float64, thr float64) []string {
	idx := make([]int, 0, len(comps))
	for j, v := range centroid {
		if v >= thr {
			idx = append(idx, j)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if centroid[idx[a]] != centroid[idx[b]] {
			return centroid[idx[a]] > centroid[idx[b]]
		}
		return comps[idx[a]] < comps[idx[b]]
	})
	out := make([]string, 0, len(idx))
	for _, j := range idx {
		out = append(out, comps[j])
	}
	return out
}

func groupLabel(cat *datasets.Catalogue, comps []string, lang string) string {
	if len(comps) == 0 {
		if isEN(lang) {
			return "No marked need"
		}
		return "Pas de besoin marqué"
	}
	var names []string
	for _, c := range comps[:min(maxLabelComps, len(comps))] {
		names = append(names, compLabel(cat, c))
	}
	if isEN(lang) {
		return "Shared needs: " + strings.Join(names, ", ")
	}
	return "Besoins communs : " + strings.Join(names, ", ")
}

// Analytics returns pseudonymised aggregates over a school's consenting pupils (every
// school when schoolID is empty): mean mastery per competency and level, uptake of
// recommendations and teacher decisions. Any group under MinGroup pupils is suppressed.
func (e *Engine) Analytics(ctx context.Context, schoolID string) (Analytics, error) {
	sts, err := e.schoolStudents(ctx, schoolID)
	if err != nil {
		return Analytics{}, fmt.Errorf("recommender.Analytics: %w", err)
	}
	if len(sts) == 0 && schoolID != "" {
		return Analytics{}, fmt.Errorf("recommender.Analytics: school %q: %w", schoolID, ErrNotFound)
	}
	out := Analytics{SchoolID: schoolID, MinGroup: e.cfg.MinGroup, Mastery: []MasteryAggregate{}, Decisions: map[string]int{}}
	level := map[string]string{}
	var ids []string
	for _, st := range sts {
		if st.Consent {
			ids = append(ids, st.ID)
			level[st.ID] = st.Level
		}
	}
	type key struct{ comp, level string }
	type acc struct {
		n   int
		sum float64
	}
	accs := map[key]*acc{}
	const batch = 500
	for lo := 0; lo < len(ids); lo += batch {
		ps, err := e.store.Profiles(ctx, ids[lo:min(lo+batch, len(ids))])
		if err != nil {
			return Analytics{}, fmt.Errorf("recommender.Analytics: profiles: %w", storeErr(err))
		}
		for _, p := range ps {
			for c, cs := range p.Competencies {
				if cs.N == 0 && cs.GradeN == 0 {
					continue
				}
				k := key{c, level[p.StudentID]}
				if accs[k] == nil {
					accs[k] = &acc{}
				}
				accs[k].n++
				accs[k].sum += cs.PMastery
			}
		}
	}
	for k, a := range accs {
		if a.n < e.cfg.MinGroup {
			out.Suppressed++
			continue
		}
		out.Mastery = append(out.Mastery, MasteryAggregate{Competency: k.comp, Level: k.level, Pupils: a.n, MeanPMastery: round(a.sum/float64(a.n), 4)})
	}
	sort.Slice(out.Mastery, func(a, b int) bool {
		ma, mb := out.Mastery[a], out.Mastery[b]
		if ma.Competency != mb.Competency {
			return ma.Competency < mb.Competency
		}
		return datasets.LevelIndex(ma.Level) < datasets.LevelIndex(mb.Level)
	})
	up, err := e.store.Uptake(ctx, schoolID, e.cfg.UptakeWindow)
	if err != nil {
		return Analytics{}, fmt.Errorf("recommender.Analytics: uptake: %w", storeErr(err))
	}
	if up.Pupils >= e.cfg.MinGroup {
		out.Uptake = up
	} else if up.Pupils > 0 {
		out.Suppressed++
	}
	dc, err := e.store.DecisionCounts(ctx, schoolID)
	if err != nil {
		return Analytics{}, fmt.Errorf("recommender.Analytics: decisions: %w", storeErr(err))
	}
	if len(sts) >= e.cfg.MinGroup {
		out.Decisions = dc
	} else if len(dc) > 0 {
		out.Suppressed++
	}
	return out, nil
}

func (e *Engine) schoolStudents(ctx context.Context, schoolID string) ([]datasets.Student, error) {
	if schoolID != "" {
		sts, err := e.store.SchoolStudents(ctx, schoolID)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("school %q: %w", schoolID, storeErr(err))
		}
		return sts, nil
	}
	ids, err := e.store.StudentIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("student ids: %w", storeErr(err))
	}
	out := make([]datasets.Student, 0, len(ids))
	for _, id := range ids {
		st, err := e.store.Student(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("student: %w", storeErr(err))
		}
		out = append(out, st)
	}
	return out, nil
}
