package recommender

import (
	"reflect"
	"testing"
	"time"
)

func TestChooseClusters(t *testing.T) {
	tests := []struct {
		name      string
		rows      [][]float64
		wantK     int
		wantSplit []int
	}{
		{
			name:      "TwoObviousGroupsAreFound",
			rows:      [][]float64{{0.9, 0}, {0.8, 0.1}, {0.85, 0.05}, {0, 0.9}, {0.1, 0.8}, {0.05, 0.95}},
			wantK:     2,
			wantSplit: []int{0, 0, 0, 1, 1, 1},
		},
		{
			name:      "ThreePupilsMakeOneGroup",
			rows:      [][]float64{{0.9, 0}, {0, 0.9}, {0.5, 0.5}},
			wantK:     1,
			wantSplit: []int{0, 0, 0},
		},
		{
			name:      "IdenticalNeedsMakeOneGroup",
			rows:      [][]float64{{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}},
			wantK:     1,
			wantSplit: []int{0, 0, 0, 0, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, c := chooseClusters(tc.rows, 5, 1)
			if len(c) != tc.wantK || !reflect.DeepEqual(a, tc.wantSplit) {
				t.Errorf("got k=%d %v, want k=%d %v", len(c), a, tc.wantK, tc.wantSplit)
			}
			a2, c2 := chooseClusters(tc.rows, 5, 1)
			if !reflect.DeepEqual(a, a2) || !reflect.DeepEqual(c, c2) {
				t.Error("same input and seed gave another clustering")
			}
		})
	}
}

func TestFrenchFormatting(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"DecimalCommaOnHalfMarks", numFR(7.5), "7,5"},
		{"NoTrailingZero", numFR(12.0), "12"},
		{"RoundsToOneDecimal", numFR(7.4666), "7,5"},
		{"PercentWithSpace", pctFR(0.7234), "72 %"},
		{"EnglishPercent", pctEN(0.7234), "72%"},
		{"MonthInFrench", dateFR(time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)), "12 mars"},
		{"FirstOfTheMonth", dateFR(time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)), "1er août"},
		{"PluralOfOne", plural(1, "évaluation", "évaluations"), "1 évaluation"},
		{"PluralOfThree", plural(3, "évaluation", "évaluations"), "3 évaluations"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestFitPeaksAtTarget(t *testing.T) {
	e := &Engine{cfg: Config{}.withDefaults()}
	s := &snapshot{target: 0.7}
	if f := e.fit(s, 0.7); f != 1 {
		t.Errorf("fit at target = %v, want 1", f)
	}
	if e.fit(s, 0.95) >= e.fit(s, 0.8) || e.fit(s, 0.3) >= e.fit(s, 0.6) {
		t.Error("fit does not fall off on both sides of the target")
	}
}
