package recommender

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// rankingCatalogue is one subject with five chapters C1..C5 taught in that order at 6e,
// three resources each.
func rankingCatalogue(tb testing.TB) *datasets.Catalogue {
	tb.Helper()
	var comps []datasets.Competency
	var res []datasets.Resource
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("C%d", i)
		comps = append(comps, datasets.Competency{ID: id, Subject: "MATHS", Level: "6e", Label: id})
		for j := range 3 {
			res = append(res, datasets.Resource{ID: fmt.Sprintf("R%d-%d", i, j), Subject: "MATHS", Level: "6e",
				Type: datasets.ResourceExercise, Competencies: []string{id}})
		}
	}
	cat, err := datasets.NewCatalogue(comps, res)
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

func classEvents(class string, chapters []string, start time.Time) features.PupilEvents {
	ev := features.PupilEvents{Student: datasets.Student{ID: "P-" + class, ClassID: class, Level: "6e", Consent: true}}
	for i, c := range chapters {
		t := start.AddDate(0, 0, 7*i)
		ev.Lessons = append(ev.Lessons, datasets.Lesson{ID: fmt.Sprintf("%s-%d", class, i), ClassID: class, Subject: "MATHS",
			Competencies: []string{c}, Start: t, End: t.Add(time.Hour)})
	}
	return ev
}

func TestSyllabusPositions(t *testing.T) {
	cat := rankingCatalogue(t)
	start := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	pupils := []features.PupilEvents{
		classEvents("AHEAD", []string{"C1", "C2", "C3", "C4", "C5"}, start),
		classEvents("AHEAD2", []string{"C1", "C2", "C3", "C4", "C5"}, start),
		classEvents("BEHIND", []string{"C1", "C2", "C3"}, start),
	}
	sy := buildSyllabus(cat, pupils, time.Time{})
	if got := fmt.Sprint(sy.Order["6e|MATHS"]); got != "[C1 C2 C3 C4 C5]" {
		t.Fatalf("learnt order %s, want [C1 C2 C3 C4 C5]", got)
	}
	tests := []struct {
		name  string
		class string
		at    time.Time
		want  map[string]int
	}{
		{"CurrentIsTheLatestChapterBegun", "BEHIND", start.AddDate(0, 0, 15),
			map[string]int{"C1": sylPrevious, "C2": sylPrevious, "C3": sylCurrent, "C4": sylNext, "C5": sylNext}},
		{"UpcomingLessonsOfTheTimetableAreNext", "AHEAD", start.AddDate(0, 0, 8),
			map[string]int{"C1": sylPrevious, "C2": sylCurrent, "C3": sylNext, "C4": sylNext}},
		{"UnknownClassHasNoPositions", "NONE", start, map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sy.positions(datasets.Student{ClassID: tc.class, Level: "6e"}, "", tc.at)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("positions %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("LessonsAfterTheCutAreLeftOut", func(t *testing.T) {
		cut := buildSyllabus(cat, pupils, start.AddDate(0, 0, 8))
		if n := len(cut.Classes["AHEAD"]["MATHS"]); n != 2 {
			t.Errorf("class AHEAD has %d chapters before the cut, want 2", n)
		}
	})
}

func TestCoUsage(t *testing.T) {
	cat := rankingCatalogue(t)
	at := time.Date(2026, 1, 5, 17, 0, 0, 0, time.UTC)
	use := func(pupil string, rids ...string) features.PupilEvents {
		ev := features.PupilEvents{Student: datasets.Student{ID: pupil}}
		for i, r := range rids {
			ev.Statements = append(ev.Statements, datasets.Statement{ID: fmt.Sprint(pupil, i), StudentID: pupil, ObjectID: r, Timestamp: at.Add(time.Duration(i) * time.Minute)})
		}
		return ev
	}
	pupils := []features.PupilEvents{
		use("A", "R1-0", "R2-0", "R3-0"),
		use("B", "R1-0", "R2-0"),
		use("C", "R1-0", "R3-1"), // R1-0 with R3-1 by one pupil only: too rare to say anything
	}
	co := buildCoUsage(cat, pupils, time.Time{})
	t.Run("PairsUsedByEnoughPupilsCount", func(t *testing.T) {
		if len(co["R1-0"]) != 1 || co["R1-0"][0].ID != "R2-0" {
			t.Fatalf("co-usage of R1-0 %v, want only R2-0", co["R1-0"])
		}
		// 2 pupils used both; 3 used R1-0, 2 used R2-0: cosine 2/√6.
		if s := co["R1-0"][0].S; s < 0.81 || s > 0.82 {
			t.Errorf("cosine %.4f, want 2/√6 ≈ 0.8165", s)
		}
	})
	t.Run("RarePairsAreLeftOut", func(t *testing.T) {
		if _, ok := co["R3-1"]; ok {
			t.Errorf("R3-1 has co-usage %v from one pupil", co["R3-1"])
		}
	})
	t.Run("StatementsAfterTheCutAreLeftOut", func(t *testing.T) {
		if got := buildCoUsage(cat, pupils, at.Add(time.Minute)); len(got) != 0 {
			t.Errorf("co-usage from first statements only: %v, want none", got)
		}
	})
	t.Run("ScoresSumTheRowsOfWhatThePupilUsed", func(t *testing.T) {
		ix := newCoIndex(cat, co)
		got := ix.scores(cat, []string{"R2-0"})
		r1, _ := cat.ResourceIndex("R1-0")
		if len(got) == 0 || got[int32(r1)] <= 0 {
			t.Errorf("scores %v: R1-0 goes with R2-0", got)
		}
	})
}

func TestFitLogistic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var rows [][nFeatures]float64
	var ys []bool
	for range 4000 {
		var x [nFeatures]float64
		x[fBias] = 1
		if rng.IntN(2) == 0 {
			x[fSylCurrent] = 1
		}
		x[fFit] = rng.Float64()
		z := -2 + 2*x[fSylCurrent] + 1*x[fFit]
		rows = append(rows, x)
		ys = append(ys, rng.Float64() < sigmoid(z))
	}
	t.Run("RecoversTheWeightsOfTheGeneratingModel", func(t *testing.T) {
		rk, err := fitLogistic(rows, ys, rankerL2)
		if err != nil {
			t.Fatal(err)
		}
		if w := rk.Weights[fSylCurrent]; w < 1.6 || w > 2.4 {
			t.Errorf("syllabus weight %.2f, want about 2", w)
		}
		if w := rk.Weights[fFit]; w < 0.4 || w > 1.6 {
			t.Errorf("fit weight %.2f, want about 1", w)
		}
		if rk.LogLoss >= rk.BaseLogLoss {
			t.Errorf("log loss %.4f not below the base rate's %.4f", rk.LogLoss, rk.BaseLogLoss)
		}
	})
	t.Run("RefusesTooFewPositives", func(t *testing.T) {
		few := make([]bool, len(ys))
		few[0] = true
		if _, err := fitLogistic(rows, few, rankerL2); err == nil {
			t.Error("fitted on one positive")
		}
	})
}

func TestTargetChoice(t *testing.T) {
	chosen := &aggregates{Target: &targetChoice{Target: 0.55, FromData: true}}
	tests := []struct {
		name       string
		configured float64
		agg        *aggregates
		want       float64
	}{
		{"AConfiguredTargetWins", 0.8, chosen, 0.8},
		{"AutoUsesTheTargetChosenFromData", 0, chosen, 0.55},
		{"AutoWithoutAChoiceFallsBackToTheDefault", 0, &aggregates{}, defaultTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := effectiveTarget(tc.configured, tc.agg); got != tc.want {
				t.Errorf("target %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("NoAnswersMeansNotFromData", func(t *testing.T) {
		cat := rankingCatalogue(t)
		tc := chooseTarget(cat, features.NewModel(features.DefaultModelConfig()), []features.PupilEvents{{Student: datasets.Student{ID: "A"}}}, []int{0})
		if tc.FromData || tc.Target != defaultTarget || len(tc.Curve) != targetBins {
			t.Errorf("choice %+v, want the default, not from data, with an empty curve of %d bins", tc, targetBins)
		}
	})
	t.Run("PairsAreCreditedToTheFirstAnswersBin", func(t *testing.T) {
		cat := rankingCatalogue(t)
		at := time.Date(2026, 1, 5, 17, 0, 0, 0, time.UTC)
		yes := true
		var ev features.PupilEvents
		ev.Student = datasets.Student{ID: "A", Level: "6e"}
		for i := range 3 {
			ev.Statements = append(ev.Statements, datasets.Statement{ID: fmt.Sprint(i), StudentID: "A", ObjectID: "R1-0",
				Verb: datasets.VerbAnswered, Success: &yes, Timestamp: at.Add(time.Duration(i) * time.Hour)})
		}
		tc := chooseTarget(cat, features.NewModel(features.DefaultModelConfig()), []features.PupilEvents{ev}, []int{0})
		pairs := 0
		for _, b := range tc.Curve {
			pairs += b.Pairs
		}
		if pairs != 2 {
			t.Errorf("%d pairs from 3 answers on one competency, want 2", pairs)
		}
	})
}

func TestUsageShares(t *testing.T) {
	cat := rankingCatalogue(t)
	got := usageShares(cat, [][]string{{"R1-0", "R2-0"}, {"R1-0"}, {"R9-9"}, {}})
	r1, _ := cat.ResourceIndex("R1-0")
	r2, _ := cat.ResourceIndex("R2-0")
	if got[int32(r1)] != 0.5 || got[int32(r2)] != 0.25 || len(got) != 2 {
		t.Errorf("shares %v: want R1-0 used by half the neighbours, R2-0 by a quarter, unknown ids ignored", got)
	}
	if usageShares(cat, nil) != nil {
		t.Error("shares without neighbours")
	}
}
