package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// MinGroup is the least number of pupils an aggregate is shown for (as in analytics).
const MinGroup = 10

// Bootstrap resamples and the interval's level.
const (
	DefaultResamples = 2000
	Confidence       = 0.95
	// LaunchWindow is how long after a list a statement on one of its resources counts
	// as opened from it.
	LaunchWindow = 7 * 24 * time.Hour
)

// Source is what an analysis reads about the pupils exposed: the catalogue (competencies
// of the listed resources), the pupil (consent now), their events (grades, statements)
// and their teachers' decisions.
type Source interface {
	Catalogue(ctx context.Context) ([]datasets.Competency, []datasets.Resource, error)
	Student(ctx context.Context, id string) (datasets.Student, error)
	PupilEvents(ctx context.Context, id string) (features.PupilEvents, error)
	Decisions(ctx context.Context, studentID string) ([]recommender.Decision, error)
}

// ArmResult is one arm's aggregates. Pointers are null when suppressed (fewer than
// MinGroup pupils) or, for the control, where a comparison makes no sense.
type ArmResult struct {
	Control bool `json:"control"`
	// Classes with at least one pupil exposed; AssignedClasses and OptedOut count the
	// assignment.
	Classes         int  `json:"classes"`
	AssignedClasses int  `json:"assigned_classes"`
	OptedOut        int  `json:"opted_out"`
	Pupils          *int `json:"pupils"` // exposed pupils with consent
	// PupilsWithOutcome had at least one graded assessment in the window.
	PupilsWithOutcome *int     `json:"pupils_with_outcome"`
	Mean              *float64 `json:"mean"` // primary outcome: mean success per pupil, 0..1
	// Effect is Mean minus the control's, with its cluster-bootstrap interval (0 for the
	// control itself).
	Effect     *float64 `json:"effect"`
	CILow      *float64 `json:"ci_low"`
	CIHigh     *float64 `json:"ci_high"`
	Suppressed bool     `json:"suppressed"`
	// Exposure and guardrails.
	Lists          int      `json:"lists"`       // served lists
	ItemsShown     int      `json:"items_shown"` // distinct (pupil, resource) listed
	Launches       int      `json:"launches"`    // of them, opened (xAPI or feedback)
	Completions    int      `json:"completions"`
	Rejections     int      `json:"rejections"` // rejected by a teacher after being listed
	Uptake         *float64 `json:"uptake"`
	CompletionRate *float64 `json:"completion_rate"`
	RejectionRate  *float64 `json:"rejection_rate"`
	Breaches       []string `json:"guardrail_breaches"`
}

// ClassResult is one class's outcome (classes of at least MinGroup pupils only).
type ClassResult struct {
	ClassID string  `json:"class_id"`
	Arm     string  `json:"arm"`
	Pupils  int     `json:"pupils"`
	Mean    float64 `json:"mean"`
}

// WeekPoint is one arm's exposure in one week (weeks start on Monday, UTC).
type WeekPoint struct {
	Week       time.Time `json:"week"`
	Arm        string    `json:"arm"`
	ItemsShown int       `json:"items_shown"`
	Launches   int       `json:"launches"`
}

// Analysis is what `parcours eval experiment` prints and GET /v1/experiments/{id}
// returns: aggregates only.
type Analysis struct {
	ExperimentID string               `json:"experiment_id"`
	Outcome      string               `json:"primary_outcome"`
	ControlArm   string               `json:"control"`
	ArmOrder     []string             `json:"arm_order"`
	Arms         map[string]ArmResult `json:"arms"`
	Classes      []ClassResult        `json:"classes"`
	// SuppressedClasses had fewer than MinGroup pupils exposed.
	SuppressedClasses int         `json:"suppressed_classes"`
	Weekly            []WeekPoint `json:"weekly"`
	MinGroup          int         `json:"min_group"`
	Confidence        float64     `json:"confidence"`
	Resamples         int         `json:"resamples"`
	Seed              uint64      `json:"seed"`
	AsOf              time.Time   `json:"as_of"`
	Verdict           string      `json:"verdict"`
}

// pupilOut is what the analysis computes about one pupil; it never leaves the package.
type pupilOut struct {
	arm, class string
	sum        float64
	n          int
}

type classAgg struct {
	arm     string
	pupils  int
	withOut int
	sum     float64 // sum of pupil means
}

// Options tune an analysis; zero values take the defaults.
type Options struct {
	Resamples int
	Now       time.Time
}

// Analyze computes each arm's effect on the primary outcome against the control: the
// difference of the mean per-pupil success, with a percentile interval from a bootstrap
// that resamples whole classes within each arm (the unit of assignment, so the interval
// accounts for pupils of a class being alike), seeded by the experiment. Pupils who have
// withdrawn consent or been erased since are left out.
func Analyze(ctx context.Context, x *Experiment, exps []Exposure, fbs []Feedback, src Source, o Options) (Analysis, error) {
	if o.Resamples <= 0 {
		o.Resamples = DefaultResamples
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	_, res, err := src.Catalogue(ctx)
	if err != nil {
		return Analysis{}, fmt.Errorf("experiment.Analyze: %w", err)
	}
	compsOf := make(map[string][]string, len(res))
	for _, r := range res {
		compsOf[r.ID] = r.Competencies
	}
	byPupil := map[string][]Exposure{}
	var order []string
	for _, e := range exps {
		if _, ok := byPupil[e.StudentID]; !ok {
			order = append(order, e.StudentID)
		}
		byPupil[e.StudentID] = append(byPupil[e.StudentID], e)
	}
	sort.Strings(order)
	fbBy := map[string][]Feedback{}
	for _, f := range fbs {
		fbBy[f.StudentID] = append(fbBy[f.StudentID], f)
	}
	end := x.End.Add(time.Duration(x.FollowUpDays) * 24 * time.Hour)
	if o.Now.Before(end) {
		end = o.Now
	}
	a := Analysis{ExperimentID: x.ID, Outcome: x.PrimaryOutcome, ControlArm: x.Arms[0].Name, Arms: map[string]ArmResult{},
		MinGroup: MinGroup, Confidence: Confidence, Resamples: o.Resamples, Seed: x.Seed, AsOf: o.Now.UTC()}
	arms := map[string]*ArmResult{}
	for i, arm := range x.Arms {
		a.ArmOrder = append(a.ArmOrder, arm.Name)
		arms[arm.Name] = &ArmResult{Control: i == 0}
	}
	for _, as := range x.Assignments {
		if r := arms[as.Arm]; r != nil {
			r.AssignedClasses++
			if as.OptedOut {
				r.OptedOut++
			}
		}
	}
	classes := map[string]*classAgg{}
	weekly := map[string]*WeekPoint{}
	var outs []pupilOut
	for _, id := range order {
		es := byPupil[id]
		st, err := src.Student(ctx, id)
		if errors.Is(err, datasets.ErrNotFound) {
			continue
		}
		if err != nil {
			return Analysis{}, fmt.Errorf("experiment.Analyze: %w", err)
		}
		if !st.Consent {
			continue
		}
		ev, err := src.PupilEvents(ctx, id)
		if err != nil {
			return Analysis{}, fmt.Errorf("experiment.Analyze: %w", err)
		}
		ds, err := src.Decisions(ctx, id)
		if err != nil {
			return Analysis{}, fmt.Errorf("experiment.Analyze: %w", err)
		}
		// Intention to treat: the arm and class of the first list served.
		first := es[0]
		r := arms[first.Arm]
		if r == nil {
			continue
		}
		ex := summarise(es, fbBy[id], ev.Statements, ds, compsOf, weekly, first.Arm)
		r.Lists += len(es)
		r.ItemsShown += ex.shown
		r.Launches += ex.launched
		r.Completions += ex.completed
		r.Rejections += ex.rejected
		po := pupilOut{arm: first.Arm, class: first.ClassID}
		po.sum, po.n = outcome(x.PrimaryOutcome, first.At, end, ex.comps, ev, compsOf)
		outs = append(outs, po)
		c := classes[first.ClassID]
		if c == nil {
			c = &classAgg{arm: first.Arm}
			classes[first.ClassID] = c
		}
		c.pupils++
		if po.n > 0 {
			c.withOut++
			c.sum += po.sum / float64(po.n)
		}
	}
	// Per arm: counts, means; per class rows.
	perArm := map[string][]cluster{}
	for _, id := range sortedKeys(classes) {
		c := classes[id]
		r := arms[c.arm]
		r.Classes++
		if c.withOut > 0 {
			perArm[c.arm] = append(perArm[c.arm], cluster{sum: c.sum, n: c.withOut})
		}
		if c.pupils < MinGroup || c.withOut < MinGroup {
			a.SuppressedClasses++
			continue
		}
		a.Classes = append(a.Classes, ClassResult{ClassID: id, Arm: c.arm, Pupils: c.pupils, Mean: round4(c.sum / float64(c.withOut))})
	}
	pupils := map[string]int{}
	for _, p := range outs {
		pupils[p.arm]++
	}
	ctrl := x.Arms[0].Name
	ctrlClusters := perArm[ctrl]
	for i, arm := range x.Arms {
		r := arms[arm.Name]
		n, nOut := pupils[arm.Name], clusterN(perArm[arm.Name])
		if n < MinGroup || nOut < MinGroup {
			r.Suppressed = true
		} else {
			r.Pupils, r.PupilsWithOutcome = ptr(n), ptr(nOut)
			r.Mean = fptr(clusterMean(perArm[arm.Name]))
			if r.ItemsShown > 0 {
				r.Uptake = fptr(float64(r.Launches) / float64(r.ItemsShown))
				r.CompletionRate = fptr(float64(r.Completions) / float64(r.ItemsShown))
				r.RejectionRate = fptr(float64(r.Rejections) / float64(r.ItemsShown))
			}
			g := x.Guardrails
			if g.MinUptake > 0 && r.Uptake != nil && *r.Uptake < g.MinUptake {
				r.Breaches = append(r.Breaches, fmt.Sprintf("uptake %.3f < %.3f", *r.Uptake, g.MinUptake))
			}
			if g.MaxRejectionRate > 0 && r.RejectionRate != nil && *r.RejectionRate > g.MaxRejectionRate {
				r.Breaches = append(r.Breaches, fmt.Sprintf("rejection rate %.3f > %.3f", *r.RejectionRate, g.MaxRejectionRate))
			}
		}
		if r.Breaches == nil {
			r.Breaches = []string{}
		}
		ctrlOK := clusterN(ctrlClusters) >= MinGroup && pupils[ctrl] >= MinGroup
		switch {
		case i == 0 && !r.Suppressed:
			r.Effect, r.CILow, r.CIHigh = fptr(0), fptr(0), fptr(0)
		case i > 0 && !r.Suppressed && ctrlOK:
			eff, lo, hi := bootstrap(ctrlClusters, perArm[arm.Name], o.Resamples, x.Seed^hash64(0, "arm", arm.Name))
			r.Effect, r.CILow, r.CIHigh = fptr(eff), fptr(lo), fptr(hi)
		}
	}
	for name, r := range arms {
		a.Arms[name] = *r
	}
	for _, k := range sortedKeys(weekly) {
		a.Weekly = append(a.Weekly, *weekly[k])
	}
	if a.Classes == nil {
		a.Classes = []ClassResult{}
	}
	if a.Weekly == nil {
		a.Weekly = []WeekPoint{}
	}
	a.Verdict = verdict(&a)
	return a, nil
}

// exposureSummary is one pupil's exposure and guardrail counts.
type exposureSummary struct {
	shown, launched, completed, rejected int
	comps                                map[string]bool
}

func summarise(es []Exposure, fbs []Feedback, sts []datasets.Statement, ds []recommender.Decision,
	compsOf map[string][]string, weekly map[string]*WeekPoint, arm string) exposureSummary {
	listed := map[string]time.Time{} // resource -> first listed
	for _, e := range es {
		for _, rid := range e.ResourceIDs {
			if t, ok := listed[rid]; !ok || e.At.Before(t) {
				listed[rid] = e.At
			}
		}
	}
	ex := exposureSummary{shown: len(listed), comps: map[string]bool{}}
	launched, completed := map[string]bool{}, map[string]bool{}
	for _, s := range sts {
		t, ok := listed[s.ObjectID]
		if !ok || s.Timestamp.Before(t) || s.Timestamp.After(t.Add(LaunchWindow)) {
			continue
		}
		launched[s.ObjectID] = true
		if (s.Completion != nil && *s.Completion) || s.Verb == datasets.VerbCompleted || s.Verb == datasets.VerbPassed {
			completed[s.ObjectID] = true
		}
	}
	for _, f := range fbs {
		if f.Kind == FeedbackLaunch {
			if _, ok := listed[f.ResourceID]; ok {
				launched[f.ResourceID] = true
			}
		}
	}
	rejected := map[string]bool{}
	for _, d := range ds {
		if t, ok := listed[d.ResourceID]; ok && d.Decision == recommender.DecisionReject && !d.At.Before(t) {
			rejected[d.ResourceID] = true
		}
	}
	ex.launched, ex.completed, ex.rejected = len(launched), len(completed), len(rejected)
	for rid, t := range listed {
		for _, c := range compsOf[rid] {
			ex.comps[c] = true
		}
		wk := weekOf(t)
		key := wk.Format("2006-01-02") + "\x00" + arm
		w := weekly[key]
		if w == nil {
			w = &WeekPoint{Week: wk, Arm: arm}
			weekly[key] = w
		}
		w.ItemsShown++
		if launched[rid] {
			w.Launches++
		}
	}
	return ex
}

// outcome sums the pupil's success on graded assessments of the recommended competencies
// dated in (from, to]: grades with a mark (score / out of) and, for OutcomeLaterSuccess,
// statements with an outcome (scaled score, else success).
func outcome(kind string, from, to time.Time, comps map[string]bool, ev features.PupilEvents, compsOf map[string][]string) (float64, int) {
	hits := func(cs []string) bool {
		for _, c := range cs {
			if comps[c] {
				return true
			}
		}
		return false
	}
	var sum float64
	n := 0
	for _, g := range ev.Grades {
		if !g.Scored() || g.OutOf <= 0 || !g.Date.After(from) || g.Date.After(to) || !hits(g.Competencies) {
			continue
		}
		sum += min(max(g.Score/g.OutOf, 0), 1)
		n++
	}
	if kind != OutcomeLaterSuccess {
		return sum, n
	}
	for _, s := range ev.Statements {
		if !s.Timestamp.After(from) || s.Timestamp.After(to) || !hits(compsOf[s.ObjectID]) {
			continue
		}
		ok, has := s.Outcome()
		switch {
		case s.Scaled != nil:
			sum += min(max(*s.Scaled, 0), 1)
		case has && ok:
			sum++
		case !has:
			continue
		}
		n++
	}
	return sum, n
}

// cluster is one class: the sum of its pupils' mean outcomes and their number.
type cluster struct {
	sum float64
	n   int
}

func clusterN(cs []cluster) int {
	n := 0
	for _, c := range cs {
		n += c.n
	}
	return n
}

func clusterMean(cs []cluster) float64 {
	var s float64
	n := 0
	for _, c := range cs {
		s += c.sum
		n += c.n
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// bootstrap returns mean(treat) − mean(ctrl) and its interval from a bootstrap that
// resamples classes with replacement within each arm. With few classes a percentile
// interval is too narrow (an A/A test over 200 re-assignments of 17 classes found an
// effect 12.5 % of the time at 95 %), so the interval is eff ± t·SE: the bootstrap
// standard error, inflated by √(G/(G−1)) for the smaller arm's G classes (the bootstrap
// variance of a mean of G clusters is (G−1)/G of the unbiased one), and Student's t
// with G_ctrl + G_treat − 2 degrees of freedom.
func bootstrap(ctrl, treat []cluster, b int, seed uint64) (eff, lo, hi float64) {
	eff = clusterMean(treat) - clusterMean(ctrl)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	draws := make([]float64, 0, b)
	resample := func(cs []cluster) float64 {
		var s float64
		n := 0
		for range cs {
			c := cs[rng.IntN(len(cs))]
			s += c.sum
			n += c.n
		}
		return s / float64(n)
	}
	for range b {
		draws = append(draws, resample(treat)-resample(ctrl))
	}
	se := stat.StdDev(draws, nil)
	g := min(len(ctrl), len(treat))
	if g > 1 {
		se *= math.Sqrt(float64(g) / float64(g-1))
	}
	df := float64(max(len(ctrl)+len(treat)-2, 1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - (1-Confidence)/2)
	return round4(eff), round4(eff - t*se), round4(eff + t*se)
}

func verdict(a *Analysis) string {
	var b strings.Builder
	ctrl := a.ControlArm
	if a.Arms[ctrl].Suppressed {
		fmt.Fprintf(&b, "Témoin %s : moins de %d élèves avec un résultat, aucune comparaison possible. ", ctrl, MinGroup)
	}
	for _, name := range a.ArmOrder[1:] {
		r := a.Arms[name]
		switch {
		case r.Suppressed:
			fmt.Fprintf(&b, "%s : moins de %d élèves avec un résultat, résultat masqué. ", name, MinGroup)
		case r.Effect == nil:
		case *r.CILow > 0:
			fmt.Fprintf(&b, "%s fait mieux que %s : %+.1f points de réussite (IC %d %% %+.1f à %+.1f). ", name, ctrl, 100**r.Effect, int(100*a.Confidence), 100**r.CILow, 100**r.CIHigh)
		case *r.CIHigh < 0:
			fmt.Fprintf(&b, "%s fait moins bien que %s : %+.1f points de réussite (IC %d %% %+.1f à %+.1f). ", name, ctrl, 100**r.Effect, int(100*a.Confidence), 100**r.CILow, 100**r.CIHigh)
		default:
			fmt.Fprintf(&b, "Pas de différence établie entre %s et %s : %+.1f points (IC %d %% %+.1f à %+.1f). ", name, ctrl, 100**r.Effect, int(100*a.Confidence), 100**r.CILow, 100**r.CIHigh)
		}
		if r.Classes > 0 && r.Classes < 5 {
			fmt.Fprintf(&b, "Attention : %d classes seulement pour %s, l'intervalle est fragile. ", r.Classes, name)
		}
	}
	for _, name := range a.ArmOrder {
		if br := a.Arms[name].Breaches; len(br) > 0 {
			fmt.Fprintf(&b, "Garde-fou franchi par %s : %s. ", name, strings.Join(br, ", "))
		}
	}
	return strings.TrimSpace(b.String())
}

func weekOf(t time.Time) time.Time {
	t = t.UTC()
	d := (int(t.Weekday()) + 6) % 7
	y, m, dd := t.AddDate(0, 0, -d).Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func ptr(n int) *int { return &n }

func fptr(x float64) *float64 {
	x = round4(x)
	return &x
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
