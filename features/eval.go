package features

import (
	"errors"
	"math"
	"sort"

	"github.com/parcours-ent/parcours/datasets"
)

// Metrics are the next-answer prediction figures of `parcours eval mastery`.
type Metrics struct {
	AUC     float64 `json:"auc"`
	RMSE    float64 `json:"rmse"`
	LogLoss float64 `json:"log_loss"`
	N       int     `json:"n"`
}

// ordered returns the interactions in the order the model sees them: by time when every
// row carries an RFC 3339 time (students interleaved as they happened), else student by
// student in order of first appearance, each student's rows by their order. Stable.
func ordered(its []datasets.Interaction) []datasets.Interaction {
	out := append([]datasets.Interaction(nil), its...)
	timed := true
	for i := range out {
		timed = timed && out[i].Timed()
	}
	if timed {
		sort.SliceStable(out, func(a, b int) bool { return out[a].Time.Before(out[b].Time) })
		return out
	}
	first := map[string]int{}
	for i := range out {
		if _, ok := first[out[i].StudentID]; !ok {
			first[out[i].StudentID] = len(first)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		fa, fb := first[out[a].StudentID], first[out[b].StudentID]
		if fa != fb {
			return fa < fb
		}
		return out[a].Before(out[b])
	})
	return out
}

// ErrNoTestRows is returned by EvalMastery when the test log is empty.
var ErrNoTestRows = errors.New("no test interactions")

// Score computes the metrics of predictions ps against outcomes ys: AUC by ranks (ties
// share their average rank, so it equals the Mann–Whitney statistic; 0.5 when one class
// is absent), RMSE, and log-loss with p clipped to [1e-15, 1 − 1e-15].
func Score(ps []float64, ys []bool) Metrics {
	if len(ps) != len(ys) {
		panic("features.Score: length mismatch")
	}
	n := len(ps)
	mt := Metrics{N: n}
	if n == 0 {
		return mt
	}
	se, ll := 0.0, 0.0
	for i, p := range ps {
		y := 0.0
		if ys[i] {
			y = 1
		}
		se += (p - y) * (p - y)
		q := min(max(p, 1e-15), 1-1e-15)
		ll -= y*math.Log(q) + (1-y)*math.Log(1-q)
	}
	mt.RMSE = math.Sqrt(se / float64(n))
	mt.LogLoss = ll / float64(n)
	mt.AUC = auc(ps, ys)
	return mt
}

func auc(ps []float64, ys []bool) float64 {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	var rankSum float64
	pos := 0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && ps[idx[j]] == ps[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for t := i; t < j; t++ {
			if ys[idx[t]] {
				rankSum += avg
				pos++
			}
		}
		i = j
	}
	neg := len(ps) - pos
	if pos == 0 || neg == 0 {
		return 0.5
	}
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
}
