package offline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/features"
)

// References are the policies every report compares Parcours with, in report order;
// the oracle needs the truth and is left out without it.
var References = []string{"no_recommendation", "random", "popularity", "popularity_level_subject", "syllabus", "content", "co_usage", "oracle"}

// evaluator holds what one evaluation shares between its phases.
type evaluator struct {
	cfg     Config
	cat     *datasets.Catalogue
	ts      *trainedStore
	w       *world
	el      *eligibility
	co      *coMatrix
	ls      *levelSubjectPolicy
	pop     *popularPolicy
	truth   *synth.Truth
	sd      *simData
	profile func(string) *features.Profile
}

// reference builds the named reference policy for one run.
func (ev *evaluator) reference(name string, r *run, sim *synth.Simulator, c *clock) Policy {
	ls := ev.ls.with(r)
	switch name {
	case "no_recommendation":
		return noRecPolicy{}
	case "random":
		return &randomPolicy{w: ev.w, r: r, seed: ev.cfg.Seed, calls: map[string]uint64{}}
	case "popularity":
		return &popularPolicy{r: r, order: ev.pop.order}
	case "popularity_level_subject":
		return ls
	case "syllabus":
		return &syllabusPolicy{w: ev.w, r: r, now: c.now, own: map[string][]datasets.Lesson{}}
	case "content":
		return &contentPolicy{w: ev.w, r: r, profile: ev.profile, fallback: ls}
	case "co_usage":
		return newCoUsage(ev.w, r, ev.co, ls)
	case "oracle":
		return &oraclePolicy{w: ev.w, r: r, sim: sim}
	}
	panic("offline: unknown reference " + name)
}

func (p *levelSubjectPolicy) with(r *run) *levelSubjectPolicy {
	q := *p
	q.r = r
	return &q
}

// Evaluate is Run on a dataset in memory (truth may be nil). It writes nothing and
// leaves ds as it was.
func Evaluate(ctx context.Context, ds *datasets.Dataset, truth *synth.Truth, cfg Config) (*Report, error) {
	return evaluate(ctx, ds, truth, cfg, false)
}

// evaluate is Evaluate; when it owns ds it drops ds's event rows as soon as the split
// and the simulation's own rows are taken (at 20,000 pupils they are most of the memory).
func evaluate(ctx context.Context, ds *datasets.Dataset, truth *synth.Truth, cfg Config, owned bool) (*Report, error) {
	cfg = cfg.withDefaults()
	begin := time.Now()
	if err := cfg.checkArms(); err != nil {
		return nil, err
	}
	cat, err := datasets.NewCatalogue(ds.Competencies, ds.Resources)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	sp, err := SplitQuantile(ds, cfg.Quantile)
	if err != nil {
		return nil, err
	}
	ev := &evaluator{cfg: cfg, cat: cat, truth: truth}
	if truth != nil {
		if ev.sd, err = newSimData(ds, sp, truth, cfg.SimWeeks, cfg.SimPupils, cfg.Seed); err != nil {
			return nil, err
		}
	}
	students, nres := ds.Students, len(ds.Resources)
	if owned {
		ds.Statements, ds.Grades, ds.Absences, ds.Lessons = nil, nil, nil, nil
		runtime.GC() // before the store copies the training rows: not both at once
	}
	engineCfg := cfg.Engine
	engineCfg.Seed = cfg.Seed
	// The training rows go into the store, then into the world and the evaluation set,
	// and are dropped before the fit: the fit streams pupils from the store, and neither
	// it nor anything after needs the rows a second time.
	if ev.ts, err = loadTrainedStore(ctx, sp.Train, sp.At, engineCfg); err != nil {
		return nil, err
	}
	ev.profile = func(id string) *features.Profile { return ev.ts.profile(ctx, id) }
	ev.w = newWorld(cat, sp)
	ev.el = newEligibility(cat, students, sp.TrainSuccess)
	es, listOnly := newEvalSet(sp, students)
	if len(es.ids) == 0 {
		return nil, fmt.Errorf("no pupil to evaluate: %w", datasets.ErrInvalid)
	}
	trainStatements := len(sp.Train.Statements)
	sp.Train = nil
	runtime.GC()
	if err := ev.ts.fit(ctx); err != nil {
		return nil, err
	}
	rep := &Report{K: cfg.K, Seed: cfg.Seed, SplitAt: sp.At, SplitQuantile: sp.Quantile, SplitOn: sp.On, Pupils: len(students),
		EvaluatedPupils: len(es.ids), Resources: nres, TrainStatements: trainStatements,
		TestStatements: sp.TestStatements, HasTruth: truth != nil, Policies: map[string]*PolicyReport{},
		RankingEvaluable: !listOnly, TargetSuccess: ev.ts.cfg.TargetSuccess}
	if listOnly {
		rep.EvaluatedPupils = 0
		rep.ListPupils = len(es.ids)
	}
	es = es.sample(cfg.RankPupils, cfg.Seed)
	rep.RankedPupils = len(es.ids)
	for _, t := range sp.Truth {
		rep.TruthItems += len(t)
	}
	ev.co = newCoMatrix(ev.w)
	ev.ls = newLevelSubject(ev.w, nil)
	ev.pop = newPopular(ev.w, nil)

	var variants []synth.Variant
	if truth != nil {
		if variants, err = simVariants(truth, cfg); err != nil {
			return nil, err
		}
	}
	jobs := ev.simJobs(variants)
	total := len(es.ids) * (len(References) + len(cfg.arms()))
	if ev.sd != nil {
		total += len(jobs) * len(ev.sd.pupils) * cfg.SimWeeks
	}
	var mu sync.Mutex
	done := 0
	tick := func() {
		mu.Lock()
		done++
		if cfg.Progress != nil && (done%256 == 0 || done == total) {
			cfg.Progress(done, total)
		}
		mu.Unlock()
	}
	rep.Phases = map[string]string{"fit": time.Since(begin).Round(time.Second).String()}
	begin = time.Now()
	if err := ev.rank(ctx, rep, sp, es, tick); err != nil {
		return nil, err
	}
	rep.Phases["rank"] = time.Since(begin).Round(time.Second).String()
	if truth == nil {
		return rep, nil
	}
	begin = time.Now()
	if err := ev.simulateAll(ctx, rep, variants, jobs, tick); err != nil {
		return nil, err
	}
	rep.Phases["simulate"] = time.Since(begin).Round(time.Second).String()
	return rep, nil
}

// rank scores every policy's list at the split.
func (ev *evaluator) rank(ctx context.Context, rep *Report, sp *Split, es evalSet, tick func()) error {
	cfg := ev.cfg
	sc := &scorer{cat: ev.cat, w: ev.w, sp: sp, profile: ev.profile, k: cfg.K}
	var simOnly evalSet
	if ev.truth != nil {
		ranked := make(map[string]bool, len(es.ids))
		for _, id := range es.ids {
			ranked[id] = true
		}
		// The ranked pupils' state only: the in-band share and the oracle ask for no other.
		sim, err := ev.truth.SimulatorOf(ev.truth.Info.Params, ev.sd.week, cfg.Seed, func(id string) bool { return ranked[id] })
		if err != nil {
			return err
		}
		sc.sim = sim
		known := map[string]bool{}
		for _, id := range sim.Pupils() {
			known[id] = true
		}
		simOnly = es.subset(func(id string) bool { return known[id] })
	}
	r := ev.el.newRun()
	c := newClock(sp.At)
	var policies []Policy
	for _, name := range References {
		if name == "oracle" && sc.sim == nil {
			continue
		}
		policies = append(policies, ev.reference(name, r, sc.sim, c))
	}
	for _, v := range cfg.arms() {
		e, err := ev.ts.engine(ctx, ev.ts.st, v, c)
		if err != nil {
			return err
		}
		policies = append(policies, &enginePolicy{name: v.Name, e: e, clock: c})
	}
	ndcg := map[string][]float64{}
	for _, p := range policies {
		set := es
		if p.Name() == "oracle" {
			set = simOnly // the truth is known for these pupils only
		}
		ps, err := sc.score(ctx, p, r, set, tick)
		if err != nil {
			return err
		}
		pr := summarise(ps, set, cfg, len(ev.cat.Resources))
		pr.RankingPupils = len(set.ids)
		pr.Filled = ps.full
		pr.PrereqShare = ps.violShare
		pr.PrereqJudgedBy = "engine beliefs"
		if sc.sim != nil {
			pr.PrereqJudgedBy = "truth"
		}
		if len(ps.inBand) > 0 {
			v := mean(ps.inBand)
			pr.InBand = &v
			pr.CI[MInBand] = Bootstrap(ps.inBand, cfg.Resamples, 0.95, cfg.Seed)
			rep.InBandPupils = len(ps.inBand)
		}
		rep.Policies[p.Name()] = pr
		rep.Order = append(rep.Order, p.Name())
		if p.Name() != "oracle" {
			ndcg[p.Name()] = ps.m[MNDCG]
		}
	}
	cl := newClusters(es.slices["school"], es.classes)
	rep.Resampled = cl.Unit
	d := cl.draws(cfg.Resamples, cfg.Seed)
	for _, name := range References {
		if b, ok := ndcg[name]; ok && name != "no_recommendation" {
			rep.PairedRanking = append(rep.PairedRanking, cl.effect("parcours", name, MNDCG, ndcg["parcours"], b, d))
		}
	}
	holm(rep.PairedRanking)
	for _, v := range cfg.arms()[1:] {
		rep.AblationsRanking = append(rep.AblationsRanking, cl.effect("parcours", v.Name, MNDCG, ndcg["parcours"], ndcg[v.Name], d))
	}
	holm(rep.AblationsRanking)
	return nil
}

// sample keeps n pupils drawn without replacement (seeded), in their order, when there
// are more.
func (es evalSet) sample(n int, seed uint64) evalSet {
	if len(es.ids) <= n {
		return es
	}
	rng := rand.New(rand.NewPCG(seed, 0x5a3b1e))
	keep := map[string]bool{}
	for _, i := range rng.Perm(len(es.ids))[:n] {
		keep[es.ids[i]] = true
	}
	return es.subset(func(id string) bool { return keep[id] })
}

// subset keeps the pupils keep says yes to.
func (es evalSet) subset(keep func(string) bool) evalSet {
	out := evalSet{slices: map[string][]string{}}
	for i, id := range es.ids {
		if !keep(id) {
			continue
		}
		out.ids = append(out.ids, id)
		out.classes = append(out.classes, es.classes[i])
		for k, ls := range es.slices {
			out.slices[k] = append(out.slices[k], ls[i])
		}
	}
	return out
}

// simJob is one policy run under one simulator variant.
type simJob struct {
	variant synth.Variant
	policy  string
	res     *simResult
	err     error
}

// simJobs lists the runs: every reference and Parcours under every variant, the
// ablations under the default one.
func (ev *evaluator) simJobs(variants []synth.Variant) []*simJob {
	var jobs []*simJob
	for _, v := range variants {
		for _, name := range append(append([]string{}, References...), "parcours") {
			jobs = append(jobs, &simJob{variant: v, policy: name})
		}
		if v.Name == "default" {
			for _, a := range ev.cfg.arms()[1:] {
				jobs = append(jobs, &simJob{variant: v, policy: a.Name})
			}
		}
	}
	return jobs
}

// simulateAll runs the jobs on cfg.Workers goroutines, then fills the report.
func (ev *evaluator) simulateAll(ctx context.Context, rep *Report, variants []synth.Variant, jobs []*simJob, tick func()) error {
	queue := make(chan *simJob)
	var wg sync.WaitGroup
	for range ev.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				j.res, j.err = ev.runJob(ctx, j, tick)
			}
		}()
	}
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	wg.Wait()
	for _, j := range jobs {
		if j.err != nil {
			return fmt.Errorf("simulate %s under %s: %w", j.policy, j.variant.Name, j.err)
		}
	}
	rep.SimulatedPupils = len(ev.sd.pupils)
	rep.SimWeeks = ev.cfg.SimWeeks
	rep.Variants = map[string]*VariantReport{}
	cl := newClusters(ev.sd.schools, ev.sd.classes)
	d := cl.draws(ev.cfg.Resamples, ev.cfg.Seed+1)
	for _, v := range variants {
		vr := &VariantReport{Description: v.Description, Params: v.Params, Policies: map[string]*GainResult{}}
		res := map[string]*simResult{}
		for _, j := range jobs {
			if j.variant.Name == v.Name {
				res[j.policy] = j.res
				vr.Order = append(vr.Order, j.policy)
			}
		}
		base, top := res["no_recommendation"].gain, res["oracle"].gain
		for _, name := range vr.Order {
			s := res[name]
			g := &GainResult{Gain: cl.mean(s.gain, d), SuccessRate: float64(s.right) / float64(max(s.tried, 1)),
				InBand: mean(s.inBand), PrereqShare: mean(s.viol), ItemsPerWeek: mean(s.listed)}
			for w, xs := range s.weekly {
				g.ByWeek = append(g.ByWeek, Bootstrap(xs, min(ev.cfg.Resamples, 200), 0.95, ev.cfg.Seed+uint64(w)))
			}
			if name != "no_recommendation" {
				h := cl.ratio(s.gain, base, top, d)
				g.Headroom = &h
			}
			vr.Policies[name] = g
		}
		for _, name := range References {
			if name != "no_recommendation" || true {
				vr.Paired = append(vr.Paired, cl.effect("parcours", name, "learning_gain", res["parcours"].gain, res[name].gain, d))
			}
		}
		holm(vr.Paired)
		for _, name := range vr.Order {
			if strings.HasPrefix(name, "parcours-") {
				vr.Ablations = append(vr.Ablations, cl.effect("parcours", name, "learning_gain", res["parcours"].gain, res[name].gain, d))
			}
		}
		holm(vr.Ablations)
		vr.HeadroomCaptured = vr.Policies["parcours"].Headroom
		rep.Variants[v.Name] = vr
		rep.VariantOrder = append(rep.VariantOrder, v.Name)
	}
	def := rep.Variants[rep.VariantOrder[0]]
	for name, g := range def.Policies {
		pr := rep.Policies[name]
		if pr == nil {
			continue
		}
		v := g.Gain.Mean
		pr.LearningGain = &v
		pr.Simulation = g
		pr.HeadroomCaptured = g.Headroom
	}
	rep.HeadroomCaptured = def.HeadroomCaptured
	return nil
}

// runJob simulates one policy under one variant, on state of its own.
func (ev *evaluator) runJob(ctx context.Context, j *simJob, tick func()) (*simResult, error) {
	c := newClock(ev.sd.at)
	mk := func(sim *synth.Simulator, r *run) (Policy, func(time.Time)) {
		return ev.reference(j.policy, r, sim, c), c.set
	}
	if strings.HasPrefix(j.policy, "parcours") {
		var v Variant
		for _, x := range Variants() {
			if x.Name == j.policy {
				v = x
			}
		}
		st, err := ev.ts.simStore(ctx, ev.sd.train, ev.sd.pupils)
		if err != nil {
			return nil, err
		}
		e, err := ev.ts.engine(ctx, st, v, c)
		if err != nil {
			return nil, err
		}
		p := &enginePolicy{name: v.Name, e: e, clock: c}
		mk = func(*synth.Simulator, *run) (Policy, func(time.Time)) { return p, c.set }
	}
	return simulate(ctx, ev.truth, j.variant.Params, ev.sd, mk, ev.el, ev.cfg.K, ev.cfg.SimWeeks, ev.cfg.Seed, tick)
}
