package offline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/features"
)

// Ks are the list lengths the metrics are also reported at (besides Config.K).
var Ks = []int{1, 3, 5, 10, 20}

// Metric names, as in report.json.
const (
	MNDCG    = "ndcg_at_k"
	MRecall  = "recall_at_k"
	MHit     = "hit_rate_at_k"
	MMRR     = "mrr"
	MNovelty = "novelty"
	MDivers  = "diversity"
	MInBand  = "in_band_share"
)

// rankingMetrics are the per-pupil metrics, in report order.
var rankingMetrics = []string{MNDCG, MRecall, MHit, MMRR, MNovelty, MDivers}

// Band is the half-width of the band around the simulator's learning peak in which a
// listed item counts as well targeted: its true P(success) lies in [peak−Band,
// peak+Band] (the peak of the variant being run; 0.7 in the default one).
const Band = 0.15

// pupilScores holds one policy's per-pupil metrics at k, aligned with evalSet.ids.
type pupilScores struct {
	m         map[string][]float64 // metric -> per pupil
	byK       map[int]map[string][]float64
	inBand    []float64 // pupils the simulator knows only
	lists     [][]string
	viol      int
	violShare float64 // of listed items
	full      float64 // mean share of the k slots filled with eligible items
}

// evalSet is who is scored and how they are sliced.
type evalSet struct {
	ids     []string
	classes []string
	slices  map[string][]string // slice kind -> label per pupil
}

// newEvalSet scores the pupils with a ground truth; when none has one (a folder without
// usage), every pupil, for the list metrics alone (listOnly).
func newEvalSet(sp *Split, students []datasets.Student) (es evalSet, listOnly bool) {
	hours := map[string]float64{}
	for _, a := range sp.Train.Absences {
		hours[a.StudentID] += a.End.Sub(a.Start).Hours()
	}
	all := make([]float64, 0, len(students))
	for _, s := range students {
		all = append(all, hours[s.ID])
	}
	slices.Sort(all)
	q := [3]float64{quantileSorted(all, 0.25), quantileSorted(all, 0.5), quantileSorted(all, 0.75)}
	listOnly = len(sp.Truth) == 0
	es = evalSet{slices: map[string][]string{"level": nil, "school": nil, "absence_quartile": nil, "consent": nil}}
	for _, s := range students {
		if len(sp.Truth[s.ID]) == 0 && !listOnly {
			continue
		}
		es.ids = append(es.ids, s.ID)
		es.classes = append(es.classes, s.ClassID)
		es.slices["level"] = append(es.slices["level"], s.Level)
		es.slices["school"] = append(es.slices["school"], s.SchoolID)
		h := hours[s.ID]
		qi := sort.SearchFloat64s(q[:], h)
		for qi < 3 && q[qi] == h && qi > 0 && q[qi-1] == h {
			qi--
		}
		es.slices["absence_quartile"] = append(es.slices["absence_quartile"], fmt.Sprintf("Q%d", qi+1))
		es.slices["consent"] = append(es.slices["consent"], fmt.Sprint(s.Consent))
	}
	return es, listOnly
}

// scorer computes the metrics of lists.
type scorer struct {
	cat     *datasets.Catalogue
	w       *world
	sp      *Split
	profile func(id string) *features.Profile
	sim     *synth.Simulator // nil without truth: no in-band share, violations by the engine's beliefs
	k       int
}

func (s *scorer) score(ctx context.Context, p Policy, r *run, es evalSet, progress func()) (*pupilScores, error) {
	ps := &pupilScores{m: map[string][]float64{}, byK: map[int]map[string][]float64{}}
	maxK := max(s.k, slices.Max(Ks))
	dist := func(a, b string) float64 {
		ra, _ := s.cat.Resource(a)
		rb, _ := s.cat.Resource(b)
		return jaccardDistance(ra.Competencies, rb.Competencies)
	}
	for _, k := range Ks {
		ps.byK[k] = map[string][]float64{}
	}
	listed := 0
	for _, id := range es.ids {
		if err := ctx.Err(); err != nil {
			return nil, err // interrupted: stop at once rather than after every pupil
		}
		raw, err := p.Recommend(ctx, id, pool(maxK))
		if err != nil {
			return nil, err
		}
		list := r.keep(id, raw, maxK)
		tr := s.sp.Truth[id]
		top := list[:min(s.k, len(list))]
		ps.lists = append(ps.lists, top)
		ps.m[MNDCG] = append(ps.m[MNDCG], NDCG(list, tr, s.k))
		ps.m[MRecall] = append(ps.m[MRecall], Recall(list, tr, s.k))
		ps.m[MHit] = append(ps.m[MHit], HitRate(list, tr, s.k))
		ps.m[MMRR] = append(ps.m[MMRR], MRR(list, tr, s.k))
		ps.m[MNovelty] = append(ps.m[MNovelty], Novelty(top, s.w.users, s.w.pupils))
		ps.m[MDivers] = append(ps.m[MDivers], Diversity(top, dist))
		for _, k := range Ks {
			ps.byK[k][MNDCG] = append(ps.byK[k][MNDCG], NDCG(list, tr, k))
			ps.byK[k][MRecall] = append(ps.byK[k][MRecall], Recall(list, tr, k))
			ps.byK[k][MHit] = append(ps.byK[k][MHit], HitRate(list, tr, k))
		}
		ps.viol += s.violations(id, top)
		listed += len(top)
		ps.full += float64(len(top)) / float64(s.k)
		if s.sim != nil && len(top) > 0 {
			if in, ok := s.inBand(id, top); ok {
				ps.inBand = append(ps.inBand, in)
			}
		}
		if progress != nil {
			progress()
		}
	}
	if listed > 0 {
		ps.violShare = float64(ps.viol) / float64(listed)
	}
	if len(es.ids) > 0 {
		ps.full /= float64(len(es.ids))
	}
	return ps, nil
}

// violations counts the items of list with a competency whose prerequisite the pupil
// has not mastered. With the truth, "mastered" is the truth's (true P(success) on an
// item of the prerequisite's difficulty ≥ 0.6): what gating must achieve. Without it,
// the engine's own beliefs (P(mastery) < 0.6 on a prerequisite with evidence), which
// says only whether gating does what it believes.
func (s *scorer) violations(id string, list []string) int {
	n := 0
	if s.sim != nil {
		for _, r := range list {
			if trulyUnready(s.sim, s.cat, id, r) {
				n++
			}
		}
		return n
	}
	prof := s.profile(id)
	if prof == nil {
		return 0
	}
	for _, r := range list {
		res, _ := s.cat.Resource(r)
	items:
		for _, c := range res.Competencies {
			k, _ := s.cat.Competency(c)
			for _, q := range k.Prerequisites {
				cs, ok := prof.Competencies[q]
				if ok && (cs.N > 0 || cs.GradeN > 0) && cs.PMastery < 0.6 {
					n++
					break items
				}
			}
		}
	}
	return n
}

func (s *scorer) inBand(id string, list []string) (float64, bool) {
	in := 0
	peak := s.sim.Params().LearnPeak
	for _, r := range list {
		p, err := s.sim.PSuccess(id, r)
		if err != nil {
			return 0, false // a pupil the simulator does not restore
		}
		if math.Abs(p-peak) <= Band {
			in++
		}
	}
	return float64(in) / float64(len(list)), true
}
