package features

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sort"

	"github.com/parcours-ent/parcours/datasets"
)

// Tuning: the hyper-parameters of the model (α, β of K and the per-competency scale γ)
// are chosen on a temporal split of the TRAINING log only, by one procedure that runs
// on every data set: the earlier 80 % of the training answers are fitted, the later
// 20 % walked exactly as EvalMastery walks a test log (predict, update, refits), and a
// coordinate search over small grids keeps the configuration with the best validation
// AUC (log-loss breaks ties). The test log is never read.

// TuneGrids are the values the coordinate search tries, in order.
var TuneGrids = struct{ Alpha, Beta, LocalScale []float64 }{
	Alpha:      []float64{0.25, 0.5, 1, 2},
	Beta:       []float64{0, 0.02, 0.1, 0.5},
	LocalScale: []float64{0.25, 0.5, 1, 2},
}

// tuneMaxRefits bounds the refits of each validation walk: tuning runs a dozen walks,
// and what the grid compares changes little with the refit count.
const tuneMaxRefits = 10

// Trial is one configuration tried by Tune and its validation figures.
type Trial struct {
	Alpha, Beta, LocalScale float64
	Layer                   bool // the combination layer was on
	Metrics                 Metrics
}

// Tune returns base with α, β (and, unless base.Plain, the layer on or off and γ) chosen on a temporal validation
// split of train, and every trial. With fewer than 20 validation answers it returns base.
func Tune(train []datasets.Interaction, base ModelConfig) (ModelConfig, []Trial, error) {
	fit, val := ValidationSplit(train)
	if len(val) < 20 || len(fit) == 0 {
		return base, nil, nil
	}
	var trials []Trial
	try := func(c ModelConfig) (Metrics, error) {
		for _, t := range trials {
			if t.Alpha == c.Alpha && t.Beta == c.Beta && t.LocalScale == c.LocalScale && t.Layer == !c.NoLayer {
				return t.Metrics, nil
			}
		}
		mt, err := EvalMastery(fit, val, EvalOptions{Model: c, MaxRefits: tuneMaxRefits})
		if err != nil {
			return Metrics{}, fmt.Errorf("features.Tune: %w", err)
		}
		trials = append(trials, Trial{c.Alpha, c.Beta, c.LocalScale, !c.NoLayer, mt})
		return mt, nil
	}
	better := func(a, b Metrics) bool {
		if a.AUC != b.AUC {
			return a.AUC > b.AUC
		}
		return a.LogLoss < b.LogLoss
	}
	best := base.normalised()
	bm, err := try(best)
	if err != nil {
		return base, nil, err
	}
	coords := []struct {
		grid []float64
		set  func(*ModelConfig, float64)
	}{
		{TuneGrids.Alpha, func(c *ModelConfig, v float64) { c.Alpha = v }},
		{TuneGrids.Beta, func(c *ModelConfig, v float64) { c.Beta = v }},
	}
	if !base.Plain {
		// The layer first: on or off changes what the other values should be.
		coords = append([]struct {
			grid []float64
			set  func(*ModelConfig, float64)
		}{{[]float64{0, 1}, func(c *ModelConfig, v float64) { c.NoLayer = v == 0 }}}, coords...)
		coords = append(coords, struct {
			grid []float64
			set  func(*ModelConfig, float64)
		}{TuneGrids.LocalScale, func(c *ModelConfig, v float64) { c.LocalScale = v }})
	}
	for _, co := range coords {
		for _, v := range co.grid {
			c := best
			co.set(&c, v)
			mt, err := try(c)
			if err != nil {
				return base, nil, err
			}
			if better(mt, bm) {
				best, bm = c, mt
			}
		}
	}
	return best, trials, nil
}

// heldOutShare is the share of the training log's students whose every answer is
// held out for validation (by a hash of the id: the same students on every run).
const heldOutShare = 0.2

// ValidationSplit is the split Tune validates on, from the training log alone. A test
// log may hold the same students later on, or new students: the validation part holds
// both, the answers of a fifth of the students (chosen by a hash of their id), walked
// from an empty profile as a new student's would be, and the later part
// (TemporalSplit at 0.8) of the other students' answers; the model is fitted on the
// rest. With fewer than 10 students, no student is held out whole.
func ValidationSplit(its []datasets.Interaction) (fit, val []datasets.Interaction) {
	held := map[string]bool{}
	seen := map[string]bool{}
	for i := range its {
		id := its[i].StudentID
		if !seen[id] {
			seen[id] = true
			h := fnv.New64a()
			h.Write([]byte(id))
			held[id] = float64(h.Sum64()%1000) < 1000*heldOutShare
		}
	}
	if len(seen) < 10 {
		return TemporalSplit(its, 0.8)
	}
	var rest []datasets.Interaction
	for _, it := range its {
		if held[it.StudentID] {
			val = append(val, it)
		} else {
			rest = append(rest, it)
		}
	}
	fit, late := TemporalSplit(rest, 0.8)
	return fit, append(late, val...)
}

// TemporalSplit splits a log into its earlier and later parts: by time when every row
// is timed (the rows before the frac quantile of times, the rest), else per student
// (each student's first frac of rows, the rest), since integer orders of different
// students are not comparable.
func TemporalSplit(its []datasets.Interaction, frac float64) (early, late []datasets.Interaction) {
	timed := len(its) > 0
	for i := range its {
		timed = timed && its[i].Timed()
	}
	if timed {
		ts := make([]int64, len(its))
		for i := range its {
			ts[i] = its[i].Time.UnixNano()
		}
		slices.Sort(ts)
		cut := ts[min(len(ts)-1, int(frac*float64(len(ts))))]
		for _, it := range its {
			if it.Time.UnixNano() < cut {
				early = append(early, it)
			} else {
				late = append(late, it)
			}
		}
		return early, late
	}
	byStudent := map[string][]int{}
	var order []string
	for i := range its {
		id := its[i].StudentID
		if _, ok := byStudent[id]; !ok {
			order = append(order, id)
		}
		byStudent[id] = append(byStudent[id], i)
	}
	isLate := make([]bool, len(its))
	for _, id := range order {
		idx := byStudent[id]
		sort.SliceStable(idx, func(a, b int) bool { return its[idx[a]].Before(its[idx[b]]) })
		for _, i := range idx[int(frac*float64(len(idx))):] {
			isLate[i] = true
		}
	}
	for i, it := range its {
		if isLate[i] {
			late = append(late, it)
		} else {
			early = append(early, it)
		}
	}
	return early, late
}
