package offline

import (
	"math"
	"math/rand/v2"
	"slices"
)

// NDCG is the normalised discounted cumulative gain of list at k with binary relevance:
// DCG = Σ_{i<k, list[i] relevant} 1/log2(i+2), divided by the DCG of an ideal list
// holding min(|truth|, k) relevant items. 0 when truth is empty.
func NDCG(list []string, truth map[string]bool, k int) float64 {
	if len(truth) == 0 || k <= 0 {
		return 0
	}
	dcg, idcg := 0.0, 0.0
	for i, id := range list[:min(k, len(list))] {
		if truth[id] {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := range min(len(truth), k) {
		idcg += 1 / math.Log2(float64(i+2))
	}
	return dcg / idcg
}

// hits counts the relevant items among the first k of list.
func hits(list []string, truth map[string]bool, k int) int {
	n := 0
	for _, id := range list[:min(k, len(list))] {
		if truth[id] {
			n++
		}
	}
	return n
}

// Recall is the share of truth found in the first k of list. 0 when truth is empty.
func Recall(list []string, truth map[string]bool, k int) float64 {
	if len(truth) == 0 {
		return 0
	}
	return float64(hits(list, truth, k)) / float64(len(truth))
}

// HitRate is 1 when at least one of the first k of list is relevant, else 0.
func HitRate(list []string, truth map[string]bool, k int) float64 {
	if hits(list, truth, k) > 0 {
		return 1
	}
	return 0
}

// MRR is the reciprocal rank of the first relevant item among the first k, else 0.
func MRR(list []string, truth map[string]bool, k int) float64 {
	for i, id := range list[:min(k, len(list))] {
		if truth[id] {
			return 1 / float64(i+1)
		}
	}
	return 0
}

// Coverage is the share of the catalogue that appears in at least one list.
func Coverage(lists [][]string, catalogue int) float64 {
	if catalogue == 0 {
		return 0
	}
	seen := map[string]bool{}
	for _, l := range lists {
		for _, id := range l {
			seen[id] = true
		}
	}
	return float64(len(seen)) / float64(catalogue)
}

// Novelty is the mean self-information −log2((users(i)+1)/(pupils+1)) of the items of
// list, where users(i) counts the training pupils who used item i: recommending what few
// used scores high. 0 for an empty list.
func Novelty(list []string, users map[string]int, pupils int) float64 {
	if len(list) == 0 {
		return 0
	}
	s := 0.0
	for _, id := range list {
		s += -math.Log2(float64(users[id]+1) / float64(pupils+1))
	}
	return s / float64(len(list))
}

// Diversity is the intra-list diversity: the mean over pairs of items of the distance
// given. 0 for lists of fewer than two items.
func Diversity(list []string, dist func(a, b string) float64) float64 {
	if len(list) < 2 {
		return 0
	}
	s, n := 0.0, 0
	for i := range list {
		for j := i + 1; j < len(list); j++ {
			s += dist(list[i], list[j])
			n++
		}
	}
	return s / float64(n)
}

// jaccardDistance is 1 − |A∩B|/|A∪B| of two competency lists (1 when both are empty).
func jaccardDistance(a, b []string) float64 {
	inter := 0
	for _, x := range a {
		if slices.Contains(b, x) {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 1
	}
	return 1 - float64(inter)/float64(union)
}

// Interval is a mean with a percentile bootstrap confidence interval.
type Interval struct {
	Mean float64 `json:"mean"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
	N    int     `json:"n"`
}

// Bootstrap returns the mean of xs and the percentile interval at level conf (e.g. 0.95)
// of the means of resamples drawn with replacement, seeded: the same xs and seed give
// the same interval.
func Bootstrap(xs []float64, resamples int, conf float64, seed uint64) Interval {
	iv := Interval{N: len(xs)}
	if len(xs) == 0 {
		return iv
	}
	iv.Mean = mean(xs)
	if resamples <= 0 || len(xs) == 1 {
		iv.Lo, iv.Hi = iv.Mean, iv.Mean
		return iv
	}
	rng := rand.New(rand.NewPCG(seed, 0xb007))
	means := make([]float64, resamples)
	for b := range means {
		s := 0.0
		for range xs {
			s += xs[rng.IntN(len(xs))]
		}
		means[b] = s / float64(len(xs))
	}
	slices.Sort(means)
	a := (1 - conf) / 2
	iv.Lo = quantileSorted(means, a)
	iv.Hi = quantileSorted(means, 1-a)
	return iv
}

// quantileSorted is the linear-interpolation quantile of sorted xs.
func quantileSorted(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(xs)-1)
	f := pos - float64(lo)
	return xs[lo]*(1-f) + xs[hi]*f
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
