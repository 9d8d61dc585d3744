package benchmarks

// The student model against a tuned plain Elo, on logs from other generating models
// (BKT, PFA, conjunctive multi-skill) and on OULAD, with paired differences, plus an
// ablation table. A harness, not a timed test: several minutes on a loaded machine.
//
//	PARCOURS_MASTERY=1 go test -count=1 -run TestMastery -v -timeout 60m ./benchmarks/

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/benchmarks/tutorlogs"
	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/oulad"
	"github.com/parcours-ent/parcours/features"
)

func masteryHarness(t *testing.T) {
	t.Helper()
	if os.Getenv("PARCOURS_MASTERY") == "" {
		t.Skip("set PARCOURS_MASTERY=1: a harness of several minutes")
	}
}

// tutorSpecs are the generated logs: skill-level (item = skill) and item-level, ordered
// and timed, single- and multi-skill. Seeds are not tuned on: the grids were set before.
func tutorSpecs() map[string]tutorlogs.Spec {
	return map[string]tutorlogs.Spec{
		"bkt-skill":  {Kind: tutorlogs.BKT, Students: 600, Skills: 20, Items: 10, Length: 80, Seed: 1},
		"bkt-item":   {Kind: tutorlogs.BKT, Students: 600, Skills: 20, Items: 10, Length: 80, ItemLevel: true, Timed: true, Seed: 2},
		"pfa-skill":  {Kind: tutorlogs.PFA, Students: 600, Skills: 20, Items: 10, Length: 80, Seed: 3},
		"pfa-item":   {Kind: tutorlogs.PFA, Students: 600, Skills: 20, Items: 10, Length: 80, ItemLevel: true, Timed: true, Seed: 4},
		"conj-multi": {Kind: tutorlogs.Conjunctive, Students: 600, Skills: 15, Items: 150, Length: 80, ItemLevel: true, Seed: 5},
	}
}

type pairedRun struct {
	name       string
	plain, mdl features.Metrics
	diff       [3]float64 // AUC difference model − plain: estimate, 95 % CI low, high
	cfg        features.ModelConfig
}

// compare tunes the plain Elo and the model on train (the same procedure eval mastery
// runs), predicts test with each, and bootstraps the AUC difference over students.
func compare(t *testing.T, name string, train, test []datasets.Interaction) pairedRun {
	t.Helper()
	run := pairedRun{name: name}
	var preds [2][]float64
	var ys []bool
	for i, plain := range []bool{true, false} {
		cfg := features.DefaultModelConfig()
		cfg.Plain = plain
		cfg, _, err := features.Tune(train, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ps, y, err := features.EvalMasteryPredictions(train, test, features.EvalOptions{Model: cfg})
		if err != nil {
			t.Fatal(err)
		}
		preds[i], ys = ps, y
		if !plain {
			run.cfg = cfg
		}
	}
	run.plain, run.mdl = features.Score(preds[0], ys), features.Score(preds[1], ys)
	walk := features.WalkOrder(test)
	rows := map[string][]int{}
	var ids []string
	for i := range walk {
		if _, ok := rows[walk[i].StudentID]; !ok {
			ids = append(ids, walk[i].StudentID)
		}
		rows[walk[i].StudentID] = append(rows[walk[i].StudentID], i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var diffs []float64
	for range 200 {
		var a, b []float64
		var y []bool
		for range ids {
			for _, i := range rows[ids[rng.IntN(len(ids))]] {
				a, b, y = append(a, preds[0][i]), append(b, preds[1][i]), append(y, ys[i])
			}
		}
		diffs = append(diffs, features.Score(b, y).AUC-features.Score(a, y).AUC)
	}
	sort.Float64s(diffs)
	run.diff = [3]float64{run.mdl.AUC - run.plain.AUC, diffs[5], diffs[194]}
	t.Logf("%-11s plain Elo AUC %.4f  model AUC %.4f  diff %+.4f [%+.4f, %+.4f]  log-loss %.4f / %.4f  (model α %.2g β %.2g γ %.2g layer %v)",
		name, run.plain.AUC, run.mdl.AUC, run.diff[0], run.diff[1], run.diff[2], run.plain.LogLoss, run.mdl.LogLoss,
		run.cfg.Alpha, run.cfg.Beta, run.cfg.LocalScale, !run.cfg.NoLayer)
	return run
}

// ablate evaluates the tuned model with one part removed at a time (not re-tuned).
func ablate(t *testing.T, name string, train, test []datasets.Interaction, cfg features.ModelConfig) string {
	t.Helper()
	cfg.NoLayer = false
	variants := []struct {
		label string
		set   func(*features.ModelConfig)
	}{
		{"full", func(*features.ModelConfig) {}},
		{"no layer (Elo logit)", func(c *features.ModelConfig) { c.NoLayer = true }},
		{"no PFA counts", func(c *features.ModelConfig) { c.NoCounts = true }},
		{"no forgetting", func(c *features.ModelConfig) { c.NoForgetting = true }},
		{"no per-competency θ (γ→0.01)", func(c *features.ModelConfig) { c.LocalScale = 0.01 }},
		{"no per-competency practice slopes", func(c *features.ModelConfig) { c.NoSkillPFA = true }},
	}
	cells := []string{name}
	for _, v := range variants {
		c := cfg
		v.set(&c)
		// 100 refits (not eval mastery's up to 1000) keep the table affordable; the
		// "full" column is therefore the model at 100 refits.
		mt, err := features.EvalMastery(train, test, features.EvalOptions{Model: c, MaxRefits: 100})
		if err != nil {
			t.Fatal(err)
		}
		cells = append(cells, fmt.Sprintf("%.4f", mt.AUC))
	}
	return "| " + strings.Join(cells, " | ") + " |"
}

func TestMasteryTutorLogs(t *testing.T) {
	masteryHarness(t)
	specs := tutorSpecs()
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	slices.Sort(names)
	var table []string
	for _, n := range names {
		tr, te := tutorlogs.Generate(specs[n])
		run := compare(t, n, tr, te)
		table = append(table, ablate(t, n, tr, te, run.cfg))
	}
	t.Logf("ablation (AUC, tuned config, one part off):\n| log | full | no layer | no counts | no forgetting | no per-competency θ | no practice slopes |\n|---|---|---|---|---|---|---|\n%s", strings.Join(table, "\n"))
}

func TestMasteryOULAD(t *testing.T) {
	masteryHarness(t)
	in := filepath.Join("..", "..", "shared", "data", "oulad-2013")
	if _, err := os.Stat(filepath.Join(in, "studentAssessment.csv")); err != nil {
		t.Skipf("OULAD data missing: %v", err)
	}
	out := t.TempDir()
	if _, err := oulad.ExportInteractions(in, out); err != nil {
		t.Fatal(err)
	}
	tr, err := datasets.ReadInteractionsFile(filepath.Join(out, oulad.TrainFile))
	if err != nil {
		t.Fatal(err)
	}
	te, err := datasets.ReadInteractionsFile(filepath.Join(out, oulad.TestFile))
	if err != nil {
		t.Fatal(err)
	}
	run := compare(t, "oulad", tr, te)
	t.Logf("ablation:\n%s", ablate(t, "oulad", tr, te, run.cfg))
}
