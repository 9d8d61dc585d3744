package oulad

import (
	"path/filepath"
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
	src, err := readSource(in)
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
