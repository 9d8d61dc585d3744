package features

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

func TestScoreByHand(t *testing.T) {
	for _, tc := range []struct {
		name          string
		ps            []float64
		ys            []bool
		auc, rmse, ll float64
	}{
		{"ThreeOfFourPairsOrdered", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75,
			math.Sqrt((0.01 + 0.16 + 0.4225 + 0.04) / 4), -(math.Log(0.9) + math.Log(0.6) + math.Log(0.35) + math.Log(0.8)) / 4},
		{"TiesCountHalf", []float64{0.5, 0.5}, []bool{true, false}, 0.5, 0.5, math.Log(2)},
		{"TieAmongThree", []float64{0.2, 0.6, 0.6}, []bool{false, true, false}, 0.75,
			math.Sqrt((0.04 + 0.16 + 0.36) / 3), -(math.Log(0.8) + math.Log(0.6) + math.Log(0.4)) / 3},
		{"OneClassOnlyIsHalf", []float64{0.2, 0.9}, []bool{true, true}, 0.5, math.Sqrt((0.64 + 0.01) / 2), -(math.Log(0.2) + math.Log(0.9)) / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Score(tc.ps, tc.ys)
			near(t, "AUC", m.AUC, tc.auc)
			near(t, "RMSE", m.RMSE, tc.rmse)
			near(t, "LogLoss", m.LogLoss, tc.ll)
			if m.N != len(tc.ps) {
				t.Errorf("N %d", m.N)
			}
		})
	}
}

func TestEvalMasteryDrivesTheServedModel(t *testing.T) {
	it := func(s, item string, ok bool, order int64) datasets.Interaction {
		return datasets.Interaction{StudentID: s, ItemID: item, Skills: []string{"k"}, Correct: ok, Order: order}
	}
	train := []datasets.Interaction{it("s1", "i1", true, 1)}
	test := []datasets.Interaction{it("s2", "i1", true, 1), it("s2", "i2", false, 2)}
	cfg := DefaultModelConfig()
	cfg.LocalScale = 1 // the hand computation below: θ_sc moves as far as θ_s
	opt := EvalOptions{Model: cfg, MaxRefits: 1}
	m, err := EvalMastery(train, test, opt)
	if err != nil {
		t.Fatal(err)
	}
	// Fit on train: p = σ(0) = 0.5, err 0.5, K(0) = 1: d(i1) = −0.5, so the offset of
	// skill k is −0.5. Test 1: s2 is new, i1 has fewer than MinItemN answers and sits at
	// its prior, 0 + offset(k): p1 = σ(0.5); then Global = Local(k) = 1 − p1 = e.
	p1 := sigmoid(0.5)
	e := 1 - p1
	// Test 2: unseen i2 starts at the offset of k: p2 = σ(2e + 0.5).
	p2 := sigmoid(2*e + 0.5)
	want := Score([]float64{p1, p2}, []bool{true, false})
	near(t, "RMSE", m.RMSE, want.RMSE)
	near(t, "LogLoss", m.LogLoss, want.LogLoss)
	near(t, "AUC", m.AUC, 0)
	if m.N != 2 {
		t.Errorf("N %d", m.N)
	}
	t.Run("RejectsEmptyIDs", func(t *testing.T) {
		if _, err := EvalMastery([]datasets.Interaction{{ItemID: "i"}}, test, opt); !errors.Is(err, datasets.ErrInvalid) {
			t.Errorf("error %v, want ErrInvalid", err)
		}
	})
	t.Run("RejectsEmptyTest", func(t *testing.T) {
		if _, err := EvalMastery(train, nil, opt); !errors.Is(err, ErrNoTestRows) {
			t.Errorf("error %v, want ErrNoTestRows", err)
		}
	})
}

func TestEvalMasteryEqualsFitPredictUpdate(t *testing.T) {
	day := func(d int) time.Time { return day0.AddDate(0, 0, d) }
	it := func(s, item, skills string, ok bool, d int) datasets.Interaction {
		var sk []string
		if skills != "" {
			sk = strings.Split(skills, ";")
		}
		return datasets.Interaction{StudentID: s, ItemID: item, Skills: sk, Correct: ok, Time: day(d)}
	}
	train := []datasets.Interaction{it("a", "i1", "k1", true, 0), it("b", "i1", "k1", false, 0), it("a", "i2", "k1;k2", true, 1),
		it("b", "i3", "", false, 1), it("a", "i3", "", true, 2)}
	test := []datasets.Interaction{it("a", "i2", "k1;k2", false, 10), it("c", "i4", "k2", true, 10), it("c", "i2", "k1;k2", true, 11)}
	opt := EvalOptions{Model: DefaultModelConfig(), RefitInterval: 100 * 24 * time.Hour}
	ps, _, err := EvalMasteryPredictions(train, test, opt)
	if err != nil {
		t.Fatal(err)
	}
	// The same by hand, through the served API only.
	cat, err := LogCatalogue(train, test)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := cat.Resource("i2"); len(r.Competencies) != 2 {
		t.Fatalf("i2 competencies %v, want k1 and k2", r.Competencies)
	}
	if r, _ := cat.Resource("i3"); len(r.Competencies) != 1 || r.Competencies[0] != ItemSkillPrefix+"i3" {
		t.Fatalf("i3 competencies %v, want its own", r.Competencies)
	}
	ev := map[string]*PupilEvents{}
	var pupils []PupilEvents
	for i := range train {
		s := LogStatement(&train[i], "x")
		if ev[s.StudentID] == nil {
			ev[s.StudentID] = &PupilEvents{Student: datasets.Student{ID: s.StudentID}}
		}
		ev[s.StudentID].Statements = append(ev[s.StudentID].Statements, s)
	}
	for _, id := range []string{"a", "b"} {
		pupils = append(pupils, *ev[id])
	}
	m := NewModel(DefaultModelConfig())
	profs, err := m.Fit(cat, pupils, day(2))
	if err != nil {
		t.Fatal(err)
	}
	prof := map[string]*Profile{"a": &profs[0], "b": &profs[1], "c": {StudentID: "c"}}
	for i := range test {
		r, _ := cat.Resource(test[i].ItemID)
		near(t, fmt.Sprintf("prediction %d", i), ps[i], m.PredictAt(prof[test[i].StudentID], &r, test[i].Time))
		if err := m.Update(cat, prof[test[i].StudentID], LogStatement(&test[i], "y")); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRefitScheduleMirrorsTheService(t *testing.T) {
	hours := func(hs ...int) []datasets.Interaction {
		var its []datasets.Interaction
		for _, h := range hs {
			its = append(its, datasets.Interaction{Time: day0.Add(time.Duration(h) * time.Hour)})
		}
		return its
	}
	for _, tc := range []struct {
		name string
		its  []datasets.Interaction
		opt  EvalOptions
		want []int
	}{
		{"HourlyWhenTheTestIsShort", hours(0, 0, 1, 1, 3, 4), EvalOptions{MaxRefits: 100}, []int{2, 4, 5}},
		{"StretchedToMaxRefits", hours(0, 1, 2, 3, 4, 5, 6, 7, 8), EvalOptions{MaxRefits: 2}, []int{4, 8}},
		{"EveryNAnswersWithoutAClock", make([]datasets.Interaction, 7), EvalOptions{MaxRefits: 3}, []int{3, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			due := refitSchedule(tc.its, tc.opt.withDefaults(len(tc.its)))
			var got []int
			for i := range tc.its {
				if due(i) {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("refits before %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTemporalSplitKeepsTheLaterAnswersApart(t *testing.T) {
	t.Run("TimedSplitsAtTheTimeQuantile", func(t *testing.T) {
		var its []datasets.Interaction
		for i := range 10 {
			its = append(its, datasets.Interaction{StudentID: fmt.Sprint("s", i%3), ItemID: "i", Time: day0.Add(time.Duration(i) * time.Hour)})
		}
		early, late := TemporalSplit(its, 0.8)
		if len(early) != 8 || len(late) != 2 || !late[0].Time.Equal(day0.Add(8*time.Hour)) {
			t.Errorf("early %d, late %d (first late %v), want 8 and 2 from hour 8", len(early), len(late), late[0].Time)
		}
	})
	t.Run("OrderedSplitsEachStudent", func(t *testing.T) {
		var its []datasets.Interaction
		for _, s := range []string{"a", "b"} {
			for o := range 5 {
				its = append(its, datasets.Interaction{StudentID: s, ItemID: "i", Order: int64(o)})
			}
		}
		early, late := TemporalSplit(its, 0.8)
		if len(early) != 8 || len(late) != 2 || late[0].Order != 4 || late[1].Order != 4 {
			t.Errorf("early %d, late %v, want each student's last answer late", len(early), late)
		}
	})
}

func TestTuneReadsOnlyTheTrainingLog(t *testing.T) {
	var train []datasets.Interaction
	for s := range 30 {
		for o := range 10 {
			train = append(train, datasets.Interaction{StudentID: fmt.Sprint("s", s), ItemID: fmt.Sprint("i", o%4),
				Skills: []string{fmt.Sprint("k", o%2)}, Correct: (s+o)%3 != 0, Order: int64(o)})
		}
	}
	cfg, trials, err := Tune(train, DefaultModelConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) < 5 {
		t.Fatalf("%d trials, want the coordinate search over α, β and γ", len(trials))
	}
	best := trials[0]
	for _, tr := range trials {
		if a, b := tr.Metrics, best.Metrics; a.AUC > b.AUC || (a.AUC == b.AUC && a.LogLoss < b.LogLoss) {
			best = tr
		}
	}
	if cfg.Alpha != best.Alpha || cfg.Beta != best.Beta || cfg.LocalScale != best.LocalScale || cfg.NoLayer == best.Layer {
		t.Errorf("chose %+v, best trial %+v", cfg, best)
	}
}

func TestRefitBudget(t *testing.T) {
	for _, tc := range []struct{ rows, want int }{{1000, 1000}, {200_000, 500}, {10_000_000, 100}} {
		if got := (EvalOptions{}).withDefaults(tc.rows).MaxRefits; got != tc.want {
			t.Errorf("%d rows: %d refits, want %d", tc.rows, got, tc.want)
		}
	}
}
