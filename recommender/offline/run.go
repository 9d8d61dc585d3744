package offline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/features"
)

// Config is one evaluation run.
type Config struct {
	DataDir string // the data folder (truth/ read when present)
	OutDir  string // where report.md, report.json and the PNGs go
	K       int    // list length scored (default 10)
	Seed    uint64 // seeds random, bootstrap, simulator and engine (default 1)
	// Progress, when set, is called as pupils are scored and simulated.
	Progress func(done, total int)
	// Quantile of statement times the split falls on (default 0.75).
	Quantile float64
	// Resamples of the bootstrap (default 1000).
	Resamples int
	// SimWeeks is how many weeks pupils follow each policy in the simulator (default 4).
	SimWeeks int
}

// Slice is one group of pupils in a slice kind.
type Slice struct {
	Label  string             `json:"slice"`
	Pupils int                `json:"pupils"`
	Values map[string]float64 `json:"metrics"`
}

// Gap is the spread of one metric across the slices of one kind.
type Gap struct {
	Best  string  `json:"best"`
	Worst string  `json:"worst"`
	Gap   float64 `json:"gap"`
}

// PolicyReport is one policy's figures.
type PolicyReport struct {
	NDCG             float64                    `json:"ndcg_at_k"`
	Recall           float64                    `json:"recall_at_k"`
	HitRate          float64                    `json:"hit_rate_at_k"`
	MRR              float64                    `json:"mrr"`
	Coverage         float64                    `json:"coverage"`
	Novelty          float64                    `json:"novelty"`
	Diversity        float64                    `json:"diversity"`
	InBand           *float64                   `json:"in_band_share,omitempty"`
	PrereqViolations int                        `json:"prereq_violations"`
	LearningGain     *float64                   `json:"learning_gain,omitempty"`
	CI               map[string]Interval        `json:"ci"`
	ByK              map[int]map[string]float64 `json:"by_k"`
	Slices           map[string][]Slice         `json:"slices"`
	SliceGaps        map[string]map[string]Gap  `json:"slice_gaps"`
	Simulation       *GainResult                `json:"simulation,omitempty"`
}

// Report is what Run measured; report.json is its JSON.
type Report struct {
	K               int       `json:"k"`
	Seed            uint64    `json:"seed"`
	DataDir         string    `json:"data_dir"`
	SplitAt         time.Time `json:"split_at"`
	SplitQuantile   float64   `json:"split_quantile"`
	SplitOn         string    `json:"split_on"`
	Pupils          int       `json:"pupils"`
	EvaluatedPupils int       `json:"evaluated_pupils"`
	Resources       int       `json:"resources"`
	TrainStatements int       `json:"train_statements"`
	TestStatements  int       `json:"test_statements"`
	TruthItems      int       `json:"truth_items"`
	HasTruth        bool      `json:"has_truth"`
	// RankingEvaluable is false when no pupil has a ground truth (no successful usage
	// after the split, e.g. a folder without usage): ranking metrics are then 0 over no
	// pupil and mean nothing; coverage, diversity and violations are over ListPupils.
	RankingEvaluable bool                     `json:"ranking_evaluable"`
	ListPupils       int                      `json:"list_pupils,omitempty"`
	SimulatedPupils  int                      `json:"simulated_pupils,omitempty"`
	SimWeeks         int                      `json:"simulated_weeks,omitempty"`
	InBandPupils     int                      `json:"in_band_pupils,omitempty"`
	Order            []string                 `json:"policy_order"`
	Policies         map[string]*PolicyReport `json:"policies"`
	Elapsed          string                   `json:"elapsed"`
}

func (c Config) withDefaults() Config {
	if c.K <= 0 {
		c.K = 10
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Quantile <= 0 || c.Quantile >= 1 {
		c.Quantile = 0.75
	}
	if c.Resamples <= 0 {
		c.Resamples = 1000
	}
	if c.SimWeeks <= 0 {
		c.SimWeeks = simWeeks
	}
	return c
}

// Run evaluates the folder cfg.DataDir and writes report.md, report.json and the PNG
// plots into cfg.OutDir. Bad input is returned wrapping datasets.ErrInvalid.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	begin := time.Now()
	cfg = cfg.withDefaults()
	ds, err := datasets.LoadFolder(cfg.DataDir, datasets.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("offline.Run: %w", err)
	}
	var truth *synth.Truth
	if _, err := os.Stat(filepath.Join(cfg.DataDir, synth.TruthDir)); err == nil {
		if truth, err = synth.ReadTruth(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("offline.Run: %w", err)
		}
	}
	rep, err := Evaluate(ctx, ds, truth, cfg)
	if err != nil {
		return nil, fmt.Errorf("offline.Run: %w", err)
	}
	rep.DataDir = cfg.DataDir
	rep.Elapsed = time.Since(begin).Round(time.Second).String()
	if err := Write(rep, cfg.OutDir); err != nil {
		return nil, fmt.Errorf("offline.Run: %w", err)
	}
	return rep, nil
}

// Evaluate is Run on a dataset in memory (truth may be nil). It writes nothing.
func Evaluate(ctx context.Context, ds *datasets.Dataset, truth *synth.Truth, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	cat, err := datasets.NewCatalogue(ds.Competencies, ds.Resources)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	sp, err := SplitQuantile(ds, cfg.Quantile)
	if err != nil {
		return nil, err
	}
	ts, _, err := newTrainedStore(ctx, sp.Train, sp.At, cfg.Seed)
	if err != nil {
		return nil, err
	}
	w := newWorld(cat, sp)
	es, listOnly := newEvalSet(sp, ds.Students)
	if len(es.ids) == 0 {
		return nil, fmt.Errorf("no pupil to evaluate: %w", datasets.ErrInvalid)
	}
	rep := &Report{K: cfg.K, Seed: cfg.Seed, SplitAt: sp.At, SplitQuantile: sp.Quantile, SplitOn: sp.On, Pupils: len(ds.Students),
		EvaluatedPupils: len(es.ids), Resources: len(ds.Resources), TrainStatements: len(sp.Train.Statements),
		TestStatements: sp.TestStatements, HasTruth: truth != nil, Policies: map[string]*PolicyReport{},
		RankingEvaluable: !listOnly}
	if listOnly {
		rep.EvaluatedPupils = 0
		rep.ListPupils = len(es.ids)
	}
	for _, t := range sp.Truth {
		rep.TruthItems += len(t)
	}
	profile := func(id string) *features.Profile { return ts.profile(ctx, id) }
	sc := &scorer{cat: cat, w: w, sp: sp, profile: profile, k: cfg.K}
	week := 0
	if truth != nil {
		if week, err = simWeek(truth, sp.At); err != nil {
			return nil, err
		}
		if sc.sim, err = truth.Simulator(week, cfg.Seed); err != nil {
			return nil, err
		}
	}
	variants := Variants()
	policies := baselines(w, sp, profile, cfg.Seed)
	total := len(es.ids) * (len(policies) + len(variants))
	if truth != nil {
		total += len(sc.sim.Pupils()) * cfg.SimWeeks * (len(policies) + len(variants))
	}
	done := 0
	tick := func() {
		done++
		if cfg.Progress != nil && (done%64 == 0 || done == total) {
			cfg.Progress(done, total)
		}
	}
	for _, v := range variants {
		c := newClock(sp.At)
		e, err := ts.engine(ctx, v, cfg.Seed, c)
		if err != nil {
			return nil, err
		}
		policies = append(policies, &enginePolicy{name: v.Name, e: e, clock: c})
	}
	for _, p := range policies {
		ps, err := sc.score(ctx, p, es, tick)
		if err != nil {
			return nil, err
		}
		pr := summarise(ps, es, cfg, len(ds.Resources))
		if len(ps.inBand) > 0 {
			v := mean(ps.inBand)
			pr.InBand = &v
			pr.CI[MInBand] = Bootstrap(ps.inBand, cfg.Resamples, 0.95, cfg.Seed)
			rep.InBandPupils = len(ps.inBand)
		}
		rep.Policies[p.Name()] = pr
		rep.Order = append(rep.Order, p.Name())
	}
	if truth == nil {
		return rep, nil
	}
	rep.SimWeeks = cfg.SimWeeks
	// Each policy simulates on fresh state: baselines rebuilt, engines on a store of
	// their own (the simulation ingests what pupils do).
	sims := baselines(w, sp, profile, cfg.Seed)
	for _, p := range sims {
		if err := runSim(ctx, rep, truth, week, sp, cat, ds, p, cfg, tick); err != nil {
			return nil, err
		}
	}
	for _, v := range variants {
		own, _, err := newTrainedStore(ctx, sp.Train, sp.At, cfg.Seed)
		if err != nil {
			return nil, err
		}
		c := newClock(sp.At)
		e, err := own.engine(ctx, v, cfg.Seed, c)
		if err != nil {
			return nil, err
		}
		if err := runSim(ctx, rep, truth, week, sp, cat, ds, &enginePolicy{name: v.Name, e: e, clock: c}, cfg, tick); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func runSim(ctx context.Context, rep *Report, truth *synth.Truth, week int, sp *Split, cat *datasets.Catalogue,
	ds *datasets.Dataset, p Policy, cfg Config, tick func()) error {
	students := map[string]datasets.Student{}
	for _, s := range ds.Students {
		students[s.ID] = s
	}
	g, err := simulate(ctx, truth, week, sp.At, cat, students, p, cfg.K, cfg.SimWeeks, cfg.Seed, cfg.Resamples)
	if err != nil {
		return err
	}
	for range g.Gain.N * cfg.SimWeeks {
		tick()
	}
	rep.SimulatedPupils = g.Gain.N
	pr := rep.Policies[p.Name()]
	if pr == nil {
		return errors.New("simulated a policy that was not scored: " + p.Name())
	}
	v := g.Gain.Mean
	pr.LearningGain = &v
	pr.Simulation = &g
	return nil
}

// baselines builds the non-engine policies, each with its own record of successes.
func baselines(w *world, sp *Split, profile func(string) *features.Profile, seed uint64) []Policy {
	lsFor := func(d *done) *levelSubjectPolicy { return newLevelSubject(w, d) }
	d1, d2, d3, d4, d5 := newDone(sp.TrainSuccess), newDone(sp.TrainSuccess), newDone(sp.TrainSuccess), newDone(sp.TrainSuccess), newDone(sp.TrainSuccess)
	return []Policy{
		&randomPolicy{w: w, d: d1, seed: seed, calls: map[string]uint64{}},
		newPopular(w, d2),
		lsFor(d3),
		&contentPolicy{w: w, d: d4, profile: profile, fallback: lsFor(d4)},
		newCoUsage(w, d5, lsFor(d5)),
	}
}

// summarise turns per-pupil scores into a PolicyReport with CIs, by-k and slices.
func summarise(ps *pupilScores, es evalSet, cfg Config, catalogue int) *PolicyReport {
	pr := &PolicyReport{CI: map[string]Interval{}, ByK: map[int]map[string]float64{}, Slices: map[string][]Slice{},
		SliceGaps: map[string]map[string]Gap{}, PrereqViolations: ps.viol, Coverage: Coverage(ps.lists, catalogue)}
	for i, m := range rankingMetrics {
		pr.CI[m] = Bootstrap(ps.m[m], cfg.Resamples, 0.95, cfg.Seed+uint64(i))
	}
	pr.NDCG, pr.Recall, pr.HitRate = pr.CI[MNDCG].Mean, pr.CI[MRecall].Mean, pr.CI[MHit].Mean
	pr.MRR, pr.Novelty, pr.Diversity = pr.CI[MMRR].Mean, pr.CI[MNovelty].Mean, pr.CI[MDivers].Mean
	for k, ms := range ps.byK {
		pr.ByK[k] = map[string]float64{}
		for m, xs := range ms {
			pr.ByK[k][m] = mean(xs)
		}
	}
	for kind, labels := range es.slices {
		groups := map[string][]int{}
		var order []string
		for i, l := range labels {
			if groups[l] == nil {
				order = append(order, l)
			}
			groups[l] = append(groups[l], i)
		}
		sortLabels(order)
		gaps := map[string]Gap{}
		for _, l := range order {
			sl := Slice{Label: l, Pupils: len(groups[l]), Values: map[string]float64{}}
			for _, m := range []string{MNDCG, MRecall, MHit} {
				s := 0.0
				for _, i := range groups[l] {
					s += ps.m[m][i]
				}
				sl.Values[m] = s / float64(len(groups[l]))
			}
			pr.Slices[kind] = append(pr.Slices[kind], sl)
		}
		for _, m := range []string{MNDCG, MRecall, MHit} {
			var g Gap
			best, worst := -1.0, 2.0
			for _, sl := range pr.Slices[kind] {
				if sl.Pupils < minSlice && len(pr.Slices[kind]) > 1 {
					continue
				}
				if v := sl.Values[m]; v > best {
					best, g.Best = v, sl.Label
				}
				if v := sl.Values[m]; v < worst {
					worst, g.Worst = v, sl.Label
				}
			}
			if g.Best != "" {
				g.Gap = best - worst
			}
			gaps[m] = g
		}
		pr.SliceGaps[kind] = gaps
	}
	return pr
}

// minSlice is the smallest slice the best−worst gap considers (tiny slices are noise).
const minSlice = 20
