package features

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

var day0 = time.Date(2025, time.October, 6, 0, 0, 0, 0, time.UTC) // a Monday

func at(h, m int) time.Time {
	return day0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// testCatalogue: two 6e maths competencies (c2 needs c1), one 5e one, and three resources.
func testCatalogue(tb testing.TB) *datasets.Catalogue {
	tb.Helper()
	cat, err := datasets.NewCatalogue([]datasets.Competency{
		{ID: "c1", Subject: "MATHS", Level: "6e", Label: "Fractions"},
		{ID: "c2", Subject: "MATHS", Level: "6e", Label: "Décimaux", Prerequisites: []string{"c1"}},
		{ID: "c3", Subject: "MATHS", Level: "5e", Label: "Relatifs"},
	}, []datasets.Resource{
		{ID: "r1", Subject: "MATHS", Level: "6e", Type: datasets.ResourceExercise, Competencies: []string{"c1"}, Difficulty: 0, DurationMin: 10},
		{ID: "r2", Subject: "MATHS", Level: "6e", Type: datasets.ResourceVideo, Competencies: []string{"c1", "c2"}, Difficulty: 1, DurationMin: 30},
		{ID: "r3", Subject: "MATHS", Level: "5e", Type: datasets.ResourceQuiz, Competencies: []string{"c3"}, Difficulty: -1, DurationMin: 5},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

func pupil() datasets.Student {
	return datasets.Student{ID: "e1", SchoolID: "s1", ClassID: "6A", Level: "6e", Consent: true}
}

func bptr(b bool) *bool                   { return &b }
func fptr(f float64) *float64             { return &f }
func dptr(d time.Duration) *time.Duration { return &d }

func answered(id, res string, t time.Time, ok bool) datasets.Statement {
	return datasets.Statement{ID: id, StudentID: "e1", Verb: datasets.VerbAnswered, ObjectID: res, Timestamp: t, Success: bptr(ok)}
}

func near(tb testing.TB, what string, got, want float64) {
	tb.Helper()
	nearTol(tb, what, got, want, 1e-9)
}

// nearTol compares within tol: float32 vectors hold about 7 digits.
func nearTol(tb testing.TB, what string, got, want, tol float64) {
	tb.Helper()
	if math.Abs(got-want) > tol {
		tb.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

// snapshot is a deep copy of a profile for before/after comparisons.
func snapshot(tb testing.TB, p *Profile) string {
	tb.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
