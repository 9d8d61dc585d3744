package oulad

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parcours-ent/parcours/datasets"
)

func TestExportInteractionsRealOULAD(t *testing.T) {
	in := realData(t)
	out := t.TempDir()
	sum, err := ExportInteractions(in, out)
	if err != nil {
		t.Fatalf("ExportInteractions: %v", err)
	}
	subs := len(readRows(t, filepath.Join(in, SubmissionsFile))) - 1
	if got := sum.Train + sum.Test + sum.Banked + sum.Unscored + sum.OtherPresentations; got != subs {
		t.Errorf("train+test+left out = %d, want every one of the %d submissions accounted for (%+v)", got, subs, sum)
	}
	if sum.Train == 0 || sum.Test == 0 {
		t.Fatalf("empty split: %+v", sum)
	}
	// Import names the same competencies: every skill of the logs must be one of them.
	src, err := readSource(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	comps := map[string]bool{}
	for _, c := range competencies(src) {
		comps[c.ID] = true
	}
	for _, f := range []struct {
		name string
		n    int
	}{{TrainFile, sum.Train}, {TestFile, sum.Test}} {
		// The reader refuses any student whose rows go back in time.
		its, err := datasets.ReadInteractionsFile(filepath.Join(out, f.name))
		if err != nil {
			t.Fatalf("%s does not read back: %v", f.name, err)
		}
		if len(its) != f.n {
			t.Errorf("%s has %d rows, summary says %d", f.name, len(its), f.n)
		}
		for _, it := range its {
			if len(it.Skills) != 1 || !comps[it.Skills[0]] {
				t.Fatalf("%s: skills %v are not one competency of the import", f.name, it.Skills)
			}
		}
	}
	t.Logf("export: %+v", sum)

	t.Run("PerSkillBaseRateBeatsChanceOnTest", func(t *testing.T) {
		// The bar `eval mastery` must clear: each test answer predicted by its skill's
		// train success rate (Laplace-smoothed; the train rate overall for a skill
		// never seen in train). If the export lost the signal, AUC would sit at 0.5.
		tr, err := datasets.ReadInteractionsFile(filepath.Join(out, TrainFile))
		if err != nil {
			t.Fatal(err)
		}
		te, err := datasets.ReadInteractionsFile(filepath.Join(out, TestFile))
		if err != nil {
			t.Fatal(err)
		}
		n, k := map[string]float64{}, map[string]float64{}
		var all float64
		for _, it := range tr {
			n[it.Skills[0]]++
			if it.Correct {
				k[it.Skills[0]]++
				all++
			}
		}
		all /= float64(len(tr))
		ys, ps := make([]bool, len(te)), make([]float64, len(te))
		for i, it := range te {
			ys[i], ps[i] = it.Correct, all
			if s := it.Skills[0]; n[s] > 0 {
				ps[i] = (k[s] + 1) / (n[s] + 2)
			}
		}
		a := auc(ys, ps)
		t.Logf("per-skill base rate on %s: AUC %.4f over %d answers", TestFile, a, len(te))
		if a < 0.6 {
			t.Errorf("base-rate AUC %.4f: the export carries no per-skill signal", a)
		}
	})
}

// auc is the area under the ROC curve (Mann-Whitney, ties counted half).
func auc(ys []bool, ps []float64) float64 {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	var pos, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && ps[idx[j]] == ps[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean 1-based rank of the tie group
		for _, x := range idx[i:j] {
			if ys[x] {
				pos++
				rankSum += mid
			}
		}
		i = j
	}
	neg := float64(len(ys)) - pos
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

func TestAUC(t *testing.T) {
	tests := []struct {
		name string
		ys   []bool
		ps   []float64
		want float64
	}{
		{"PerfectRankingIsOne", []bool{false, false, true, true}, []float64{0.1, 0.2, 0.8, 0.9}, 1},
		{"ReversedRankingIsZero", []bool{true, false}, []float64{0.1, 0.9}, 0},
		{"AllTiedIsOneHalf", []bool{true, false, true}, []float64{0.5, 0.5, 0.5}, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auc(tt.ys, tt.ps); got != tt.want {
				t.Errorf("auc = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExportSplitMini(t *testing.T) {
	out := t.TempDir()
	sum, err := ExportSplit(miniData(t), out, []string{"2014B"}, []string{"2014J"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (ExportSummary{Train: 4, Test: 3, Banked: 1, Unscored: 1}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	tests := []struct {
		file string
		want []string
	}{
		{TrainFile, []string{"1 XXX-TMA-101 true", "2 XXX-TMA-101 false", "3 XXX-TMA-101 false", "1 XXX-EXAM-103 true"}},
		// 40 is the pass mark: exactly 40 is correct.
		{TestFile, []string{"4 YYY-TMA-201 true", "1 YYY-TMA-201 true", "3 XXX-CMA-112 true"}},
	}
	for _, tt := range tests {
		t.Run("Writes"+tt.file, func(t *testing.T) {
			its, err := datasets.ReadInteractionsFile(filepath.Join(out, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range its {
				c := "false"
				if it.Correct {
					c = "true"
				}
				got = append(got, it.StudentID+" "+it.ItemID+" "+c)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}
