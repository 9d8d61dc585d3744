package benchmarks

// P(success) on the engine's own candidates against the synthetic académie's truth:
//
//	PARCOURS_CANDIDATES=1 PARCOURS_SEEDS=42,7,11 go test -count=1 -run TestCandidatesPSuccess -v -timeout 60m ./benchmarks/
//
// The académie is ingested into the embedded store and fitted by recommender.New exactly
// as `parcours serve` does at start (Refit: features.Model with the engine's default
// configuration); each pupil's list is then asked of Engine.Recommend at the end of the
// year, and the P(success) the engine shows on every item (Item.PSuccess, from
// Model.Predict) is compared with the simulator's true probability for that pupil on that
// resource at the same moment (synth.Truth.Simulator(last week).PSuccess).

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

func envSeeds(t *testing.T, def ...uint64) []uint64 {
	t.Helper()
	v := os.Getenv("PARCOURS_SEEDS")
	if v == "" {
		return def
	}
	var seeds []uint64
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			t.Fatalf("PARCOURS_SEEDS: %v", err)
		}
		seeds = append(seeds, n)
	}
	return seeds
}

// candidateFigures are the calibration figures on the engine's listed items.
type candidateFigures struct {
	n                  int
	mae, bias          float64 // mean |p̂ − p|, mean logit(p̂) − logit(p)
	predBand, trueBand float64 // share of items with p̂ (resp. p) in the target band
	practiceMAE        float64 // MAE over exercises and quizzes only
	practiceN          int
}

func TestCandidatesPSuccess(t *testing.T) {
	if os.Getenv("PARCOURS_CANDIDATES") == "" {
		t.Skip("set PARCOURS_CANDIDATES=1: generates and fits an 800-pupil académie per seed")
	}
	for _, seed := range envSeeds(t, 42) {
		for _, layer := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed%d/layer=%v", seed, layer), func(t *testing.T) {
				mc := features.DefaultModelConfig()
				mc.NoLayer = !layer
				f := candidatesPSuccess(t, seed, 800, mc)
				t.Logf("seed %d, layer %v: %d listed items: MAE %.3f (exercises and quizzes: %.3f over %d), bias %+.3f logit; in the target band: predicted %.1f %%, truly %.1f %%",
					seed, layer, f.n, f.mae, f.practiceMAE, f.practiceN, f.bias, 100*f.predBand, 100*f.trueBand)
				if f.mae > 0.3 {
					t.Errorf("MAE %.3f: the engine's P(success) does not track the truth", f.mae)
				}
			})
		}
	}
}

func candidatesPSuccess(t *testing.T, seed uint64, students int, mc features.ModelConfig) candidateFigures {
	t.Helper()
	ctx := context.Background()
	d, truth, err := synth.GenerateDataset(synth.Config{Students: students, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	start, _ := time.Parse(time.RFC3339, truth.Info.Start)
	end := start.AddDate(0, 0, 7*truth.Info.Weeks)
	st := memstore.New()
	if _, err := st.Ingest(ctx, d); err != nil {
		t.Fatal(err)
	}
	// The service's defaults, spelt out so the band below is the engine's.
	const target, band = 0.7, 0.15
	cfg := recommender.Config{Now: func() time.Time { return end }, TargetSuccess: target, Band: band, Model: &mc}
	e, err := recommender.New(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := truth.Simulator(truth.Info.Weeks-1, 1)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, r := range d.Resources {
		types[r.ID] = r.Type
	}
	lo, hi := target-band, target+band
	var f candidateFigures
	var absSum, biasSum, pAbs float64
	var inP, inT int
	for _, s := range d.Students {
		if !s.Consent {
			continue
		}
		rec, err := e.Recommend(ctx, recommender.Request{StudentID: s.ID, K: 10})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Source != recommender.SourceComputed {
			continue
		}
		for _, it := range rec.Items {
			p, err := sim.PSuccess(s.ID, it.ResourceID)
			if err != nil {
				t.Fatal(err)
			}
			q := it.PSuccess
			f.n++
			absSum += math.Abs(q - p)
			biasSum += logit(q) - logit(p)
			if q >= lo && q <= hi {
				inP++
			}
			if p >= lo && p <= hi {
				inT++
			}
			if slices.Contains([]string{datasets.ResourceExercise, datasets.ResourceQuiz}, types[it.ResourceID]) {
				f.practiceN++
				pAbs += math.Abs(q - p)
			}
		}
	}
	if f.n == 0 {
		t.Fatal("no personalised item listed")
	}
	f.mae, f.bias = absSum/float64(f.n), biasSum/float64(f.n)
	f.predBand, f.trueBand = float64(inP)/float64(f.n), float64(inT)/float64(f.n)
	if f.practiceN > 0 {
		f.practiceMAE = pAbs / float64(f.practiceN)
	}
	return f
}
