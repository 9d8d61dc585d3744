package offline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parcours-ent/parcours/datasets/synth"
)

// TestRunOnSmallAcademieWritesContractReport runs the whole evaluation on a generated
// académie with truth/ and checks report.json against the contract.
func TestRunOnSmallAcademieWritesContractReport(t *testing.T) {
	if testing.Short() {
		t.Skip("generates, fits and simulates an académie")
	}
	data, out := filepath.Join(t.TempDir(), "data"), filepath.Join(t.TempDir(), "out")
	if err := synth.Generate(synth.Config{Students: 400, Seed: 3, TruthStudents: 150}, data, nil); err != nil {
		t.Fatal(err)
	}
	calls := 0
	rep, err := Run(context.Background(), Config{DataDir: data, OutDir: out, K: 10, Seed: 5, Resamples: 200, SimWeeks: 2,
		SimVariants: []string{"default", "peak-0.85"}, Progress: func(done, total int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Error("progress never called")
	}
	raw, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		K        int                                   `json:"k"`
		Policies map[string]map[string]json.RawMessage `json:"policies"`
		Headroom *Interval                             `json:"headroom_captured"`
		Variants map[string]struct {
			Policies map[string]map[string]json.RawMessage `json:"policies"`
		} `json:"variants"`
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	if js.K != 10 {
		t.Errorf("k = %d, want 10", js.K)
	}
	for _, name := range append(slices.Clone(References), "parcours", "parcours-no_gating") {
		for _, key := range []string{"ndcg_at_k", "recall_at_k", "coverage", "learning_gain"} {
			if _, ok := js.Policies[name][key]; !ok {
				t.Errorf("policies.%s.%s missing", name, key)
			}
		}
	}
	if js.Headroom == nil {
		t.Error("headroom_captured missing")
	}
	for _, v := range []string{"default", "peak-0.85"} {
		for _, name := range append(slices.Clone(References), "parcours") {
			if _, ok := js.Variants[v].Policies[name]["learning_gain"]; !ok {
				t.Errorf("variants.%s.policies.%s.learning_gain missing", v, name)
			}
		}
	}
	if o, n := rep.Variants["default"].Policies["oracle"].Gain.Mean, rep.Variants["default"].Policies["no_recommendation"].Gain.Mean; o <= n {
		t.Errorf("the oracle gains %v, no recommendation %v: the oracle must do better", o, n)
	}
	for _, f := range []string{"report.md", "ndcg_at_k_per_k.png", "learning_gain_per_week.png", "headroom_by_variant.png", "paired_gain.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	t.Logf("\n%s", md)
}

// TestEvaluateIsReproducibleFromTheSeed runs the same evaluation twice: same data, same
// seed, same report.
func TestEvaluateIsReproducibleFromTheSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("fits and simulates an académie twice")
	}
	ds, truth, err := synth.GenerateDataset(synth.Config{Students: 200, Seed: 9, TruthStudents: 60})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{K: 5, Seed: 3, Resamples: 100, SimWeeks: 1, SimVariants: []string{"default"}}
	var out [2][]byte
	for i := range out {
		rep, err := Evaluate(context.Background(), ds, truth, cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep.Phases = nil // wall times differ from run to run
		if out[i], err = json.Marshal(rep); err != nil {
			t.Fatal(err)
		}
	}
	if string(out[0]) != string(out[1]) {
		t.Error("two runs with the same seed wrote different reports")
	}
}
