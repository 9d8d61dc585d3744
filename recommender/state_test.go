package recommender

import (
	"fmt"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

func TestComputeAggregates(t *testing.T) {
	cat, err := datasets.NewCatalogue(
		[]datasets.Competency{{ID: "FRAC", Subject: "MATHS", Level: "6e"}},
		[]datasets.Resource{{ID: "R1", Subject: "MATHS", Level: "6e", Competencies: []string{"FRAC"}}, {ID: "R2", Subject: "MATHS", Level: "6e", Competencies: []string{"FRAC"}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	yes, no := true, false
	pupil := func(i int, before, after float64, success *bool) features.PupilEvents {
		g := func(n int, score float64, at time.Time) datasets.Grade {
			return datasets.Grade{ID: fmt.Sprintf("G%d-%d", i, n), Competencies: []string{"FRAC"}, Score: score, OutOf: 20, Coefficient: 1, Date: at}
		}
		ev := features.PupilEvents{Grades: []datasets.Grade{g(1, before, t0)}}
		if after >= 0 {
			ev.Grades = append(ev.Grades, g(2, after, t0.AddDate(0, 0, 10)))
		}
		ev.Statements = []datasets.Statement{
			{ID: fmt.Sprintf("S%d-1", i), ObjectID: "R1", Timestamp: t0.AddDate(0, 0, 5), Success: success},
			{ID: fmt.Sprintf("S%d-2", i), ObjectID: "R1", Timestamp: t0.AddDate(0, 0, 6)}, // same pupil again
		}
		return ev
	}
	pupils := []features.PupilEvents{
		pupil(1, 6, 12, &yes),  // weak, progressed
		pupil(2, 7, 13, &yes),  // weak, progressed
		pupil(3, 8, 8.5, &no),  // weak, did not progress enough
		pupil(4, 15, 16, &yes), // not weak
		pupil(5, 5, -1, nil),   // weak, no grade after
	}
	agg := computeAggregates(cat, pupils)
	tests := []struct {
		name      string
		got, want any
	}{
		{"UsersCountedOncePerPupil", agg.Usage["R1"].Users, 5},
		{"OnlyStatementsWithOutcomeAreAttempts", agg.Usage["R1"].Attempts, 4},
		{"SuccessesCounted", agg.Usage["R1"].Successes, 3},
		{"WeakBeforeFirstUse", agg.Progress["R1"].Weak, 4},
		{"ProgressedByATenthOfTheScale", agg.Progress["R1"].Progressed, 2},
		{"UnusedResourceHasNoStats", agg.Usage["R2"].Users, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}
