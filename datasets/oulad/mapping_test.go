package oulad

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

func TestPresentationStart(t *testing.T) {
	tests := []struct {
		name, code string
		want       time.Time
		wantErr    bool
	}{
		{"FebruaryPresentationStartsFeb1", "2013B", time.Date(2013, 2, 1, 0, 0, 0, 0, time.UTC), false},
		{"OctoberPresentationStartsOct1", "2014J", time.Date(2014, 10, 1, 0, 0, 0, 0, time.UTC), false},
		{"RejectsUnknownSemester", "2013C", time.Time{}, true},
		{"RejectsMissingYear", "13J", time.Time{}, true},
		{"RejectsNonNumericYear", "20x3J", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := presentationStart(tt.code)
			if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
				t.Errorf("presentationStart(%q) = %v, %v; want %v, error %v", tt.code, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCoefficientKeepsWeightsAndLiftsZero(t *testing.T) {
	for _, tt := range []struct{ weight, want float64 }{{0, ZeroWeightCoefficient}, {1, 1}, {12.5, 12.5}, {100, 100}} {
		if got := coefficient(tt.weight); got != tt.want {
			t.Errorf("coefficient(%v) = %v, want %v", tt.weight, got, tt.want)
		}
	}
}

func TestKindOfMapsEveryOULADActivityType(t *testing.T) {
	contract := map[string]bool{datasets.ResourceVideo: true, datasets.ResourceExercise: true,
		datasets.ResourceQuiz: true, datasets.ResourceSheet: true}
	for ty, k := range activityTypes {
		if !k.Skip && (!contract[k.Type] || k.DurationMin <= 0) {
			t.Errorf("activity type %s maps to %+v: want a contract type and a duration", ty, k)
		}
	}
	if k, known := kindOf("hologram"); known || k != otherKind {
		t.Errorf("unknown type maps to %+v (known %v), want otherKind", k, known)
	}
	if k, _ := kindOf("QUIZ"); k.Type != datasets.ResourceQuiz {
		t.Errorf("type matching is case-sensitive: QUIZ -> %+v", k)
	}
}

func TestDifficultyIsMinusLogitOfMeanScore(t *testing.T) {
	tests := []struct {
		name string
		got  float64
		n    int
		want float64
	}{
		{"UnassessedIsEvenOdds", 0, 0, 0},
		{"HalfMarksIsEvenOdds", 50, 100, 0},
		{"HighMarksIsEasy", 98, 100, -3.497}, // ln(3/99) with the prior
		{"LowMarksIsHard", 2, 100, 3.497},
		{"ThreeQuartersMarks", 75, 100, -1.073},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := difficulty(tt.got, tt.n); got != tt.want {
				t.Errorf("difficulty(%v, %d) = %v, want %v", tt.got, tt.n, got, tt.want)
			}
		})
	}
}

func TestLessNumericIsATotalOrder(t *testing.T) {
	ids := []string{"9", "10", "1x", "007", "7", "abc", "100", "x"}
	want := []string{"7", "9", "10", "007", "100", "1x", "abc", "x"}
	for _, perm := range [][]int{{0, 1, 2, 3, 4, 5, 6, 7}, {7, 6, 5, 4, 3, 2, 1, 0}, {2, 0, 5, 1, 7, 3, 6, 4}} {
		got := make([]string, len(ids))
		for i, p := range perm {
			got[i] = ids[p]
		}
		sort.Slice(got, func(i, j int) bool { return lessNumeric(got[i], got[j]) })
		if !slices.Equal(got, want) {
			t.Errorf("sorted %v, want %v whatever the input order", got, want)
		}
	}
}
