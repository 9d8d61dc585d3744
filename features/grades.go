package features

import (
	"math"
	"slices"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// GradeSummary is what the grades say about one competency or one subject.
type GradeSummary struct {
	Mean   float64 `json:"mean"`   // decayed, coefficient-weighted mean of score/out_of, 0..1
	N      int     `json:"n"`      // scored grades behind Mean
	Weight float64 `json:"weight"` // evidence: sum of decayed coefficients
	Trend  string  `json:"trend"`  // TrendImproving, TrendStable, TrendFalling, or "" under MinTrendGrades
}

// Trends of a grade series.
const (
	TrendImproving = "improving"
	TrendStable    = "stable"
	TrendFalling   = "falling"
)

// MinTrendGrades is the number of scored grades from which a trend is stated.
const MinTrendGrades = 3

// TrendThreshold is the change of mean (as a fraction: 0.05 is one point out of 20)
// between the older and the recent half of the grades above which a trend is not stable.
const TrendThreshold = 0.05

// Decay is the weight of evidence of age age under a half-life: 0.5^(age/halfLife).
// Evidence from the future (negative age) weighs 1.
func Decay(age, halfLife time.Duration) float64 {
	if age <= 0 {
		return 1
	}
	return math.Exp2(-age.Hours() / halfLife.Hours())
}

type gradePoint struct {
	t    time.Time
	y, c float64
}

// summarise computes a GradeSummary from the scored points of one series.
// Mean = Σ c·decay·y / Σ c·decay. Trend compares the coefficient-weighted (undecayed) mean
// of the recent half of the grades (the middle one included when odd) with the older half.
func summarise(pts []gradePoint, asOf time.Time, halfLife time.Duration) GradeSummary {
	var s GradeSummary
	if len(pts) == 0 {
		return s
	}
	slices.SortStableFunc(pts, func(a, b gradePoint) int { return a.t.Compare(b.t) })
	num := 0.0
	for _, p := range pts {
		w := p.c * Decay(asOf.Sub(p.t), halfLife)
		num += w * p.y
		s.Weight += w
	}
	s.N = len(pts)
	if s.Weight > 0 {
		s.Mean = num / s.Weight
	}
	if s.N >= MinTrendGrades {
		h := s.N / 2
		diff := weightedMean(pts[h:]) - weightedMean(pts[:h])
		switch {
		case diff > TrendThreshold:
			s.Trend = TrendImproving
		case diff < -TrendThreshold:
			s.Trend = TrendFalling
		default:
			s.Trend = TrendStable
		}
	}
	return s
}

func weightedMean(pts []gradePoint) float64 {
	num, den := 0.0, 0.0
	for _, p := range pts {
		num += p.c * p.y
		den += p.c
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// GradeFeatures summarises scored grades dated at or before asOf per competency and per
// subject. Status rows (absent, dispense, ...) and coefficient-0 marks are left out: they
// never count as a zero. The grades must be valid (see BuildProfile).
func GradeFeatures(grades []datasets.Grade, asOf time.Time, halfLife time.Duration) (byComp, bySubject map[string]GradeSummary) {
	pc := map[string][]gradePoint{}
	ps := map[string][]gradePoint{}
	for i := range grades {
		g := &grades[i]
		if !g.Scored() || g.Coefficient <= 0 || g.OutOf <= 0 || g.Date.After(asOf) {
			continue
		}
		p := gradePoint{t: g.Date, y: g.Score / g.OutOf, c: g.Coefficient}
		for _, c := range g.Competencies {
			pc[c] = append(pc[c], p)
		}
		ps[g.Subject] = append(ps[g.Subject], p)
	}
	byComp = make(map[string]GradeSummary, len(pc))
	for c, pts := range pc {
		byComp[c] = summarise(pts, asOf, halfLife)
	}
	bySubject = make(map[string]GradeSummary, len(ps))
	for s, pts := range ps {
		bySubject[s] = summarise(pts, asOf, halfLife)
	}
	return byComp, bySubject
}
