package features

import (
	"errors"
	"math"
	"testing"

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

func TestEvalMasteryPredictsBeforeUpdating(t *testing.T) {
	it := func(s, item string, ok bool, order int64) datasets.Interaction {
		return datasets.Interaction{StudentID: s, ItemID: item, Skills: []string{"k"}, Correct: ok, Order: order}
	}
	train := []datasets.Interaction{it("s1", "i1", true, 1)}
	test := []datasets.Interaction{it("s2", "i1", true, 1), it("s2", "i2", false, 2)}
	m, err := EvalMastery(train, test, DefaultKTConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Train: p = 0.5, err 0.5: d(i1) = −0.5.
	// Test 1: s2 unknown: p1 = σ(0 + 0.5). err = 1 − p1: θ(s2) = θ(s2,k) = err;
	// d(i1) = −0.5 − err/1.05.
	p1 := sigmoid(0.5)
	e := 1 - p1
	// Test 2: unseen item i2 starts at the mean difficulty of skill k's items, d(i1):
	// p2 = σ(2e + 0.5 + e/1.05).
	p2 := sigmoid(2*e + 0.5 + e/1.05)
	want := Score([]float64{p1, p2}, []bool{true, false})
	near(t, "RMSE", m.RMSE, want.RMSE)
	near(t, "LogLoss", m.LogLoss, want.LogLoss)
	near(t, "AUC", m.AUC, 0)
	if m.N != 2 {
		t.Errorf("N %d", m.N)
	}
	t.Run("RejectsEmptyIDs", func(t *testing.T) {
		if _, err := EvalMastery([]datasets.Interaction{{ItemID: "i"}}, test, DefaultKTConfig()); !errors.Is(err, datasets.ErrInvalid) {
			t.Errorf("error %v, want ErrInvalid", err)
		}
	})
	t.Run("RejectsEmptyTest", func(t *testing.T) {
		if _, err := EvalMastery(train, nil, DefaultKTConfig()); !errors.Is(err, ErrNoTestRows) {
			t.Errorf("error %v, want ErrNoTestRows", err)
		}
	})
}
