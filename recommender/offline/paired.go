package offline

import (
	"math/rand/v2"
	"slices"
	"sort"
)

// clusters groups the pupils of a comparison for the bootstrap. Pupils of one school
// share teachers, timetable and peers, so resampling pupils one by one would understate
// the uncertainty: we resample whole schools when there are at least minClusters of
// them, else classes, else pupils, and say which (Unit).
type clusters struct {
	Unit string
	of   []int // cluster index of each pupil
	n    int
}

const minClusters = 10

func newClusters(schools, classes []string) clusters {
	for _, c := range []struct {
		unit   string
		labels []string
	}{{"school", schools}, {"class", classes}} {
		idx := map[string]int{}
		of := make([]int, len(c.labels))
		for i, l := range c.labels {
			j, ok := idx[l]
			if !ok {
				j = len(idx)
				idx[l] = j
			}
			of[i] = j
		}
		if len(idx) >= minClusters {
			return clusters{Unit: c.unit, of: of, n: len(idx)}
		}
	}
	of := make([]int, len(schools))
	for i := range of {
		of[i] = i
	}
	return clusters{Unit: "pupil", of: of, n: len(of)}
}

// draws are the bootstrap resamples of one comparison: for each resample, how many
// times each cluster is drawn. Every comparison of a report uses the same draws, so
// that differences and ratios are computed on the same resampled pupils.
type draws [][]int32

func (c clusters) draws(resamples int, seed uint64) draws {
	rng := rand.New(rand.NewPCG(seed, 0xc1a5))
	out := make(draws, resamples)
	for b := range out {
		w := make([]int32, c.n)
		for range c.n {
			w[rng.IntN(c.n)]++
		}
		out[b] = w
	}
	return out
}

// sums are per-cluster sums and counts of one per-pupil series.
func (c clusters) sums(xs []float64) (s []float64, n []float64) {
	s, n = make([]float64, c.n), make([]float64, c.n)
	for i, x := range xs {
		s[c.of[i]] += x
		n[c.of[i]]++
	}
	return s, n
}

// Effect is a paired difference A − B over the same pupils, with its bootstrap CI, a
// two-sided bootstrap p-value and the multiple-comparison verdict.
type Effect struct {
	A        string  `json:"a"`
	B        string  `json:"b"`
	Metric   string  `json:"metric"`
	Mean     float64 `json:"delta"`
	Lo       float64 `json:"ci_low"`
	Hi       float64 `json:"ci_high"`
	N        int     `json:"pupils"`
	P        float64 `json:"p"`
	PHolm    float64 `json:"p_holm"`
	Holds    bool    `json:"significant_holm"` // Holm-adjusted p < 0.05
	Clusters string  `json:"resampled"`
}

// paired bootstraps mean(a − b) over the pupils (a and b aligned).
func (c clusters) paired(a, b []float64, d draws) (mean, lo, hi, p float64) {
	diff := make([]float64, len(a))
	for i := range a {
		diff[i] = a[i] - b[i]
	}
	s, n := c.sums(diff)
	mean = total(s) / max(total(n), 1)
	stats := make([]float64, len(d))
	neg, pos := 0, 0
	for k, w := range d {
		var ss, nn float64
		for j, m := range w {
			ss += float64(m) * s[j]
			nn += float64(m) * n[j]
		}
		v := ss / max(nn, 1)
		stats[k] = v
		if v <= 0 {
			neg++
		}
		if v >= 0 {
			pos++
		}
	}
	slices.Sort(stats)
	lo, hi = quantileSorted(stats, 0.025), quantileSorted(stats, 0.975)
	p = min(1, 2*float64(min(neg, pos)+1)/float64(len(d)+1))
	return mean, lo, hi, p
}

// ratio bootstraps (mean(a) − mean(base)) / (mean(top) − mean(base)): the share of the
// headroom between base and top that a captures.
func (c clusters) ratio(a, base, top []float64, d draws) Interval {
	sa, n := c.sums(a)
	sb, _ := c.sums(base)
	st, _ := c.sums(top)
	r := func(w func(j int) float64) float64 {
		var xa, xb, xt, nn float64
		for j := range sa {
			f := w(j)
			xa += f * sa[j]
			xb += f * sb[j]
			xt += f * st[j]
			nn += f * n[j]
		}
		if xt == xb {
			return 0
		}
		return (xa - xb) / (xt - xb)
	}
	iv := Interval{Mean: r(func(int) float64 { return 1 }), N: len(a)}
	stats := make([]float64, len(d))
	for k, w := range d {
		stats[k] = r(func(j int) float64 { return float64(w[j]) })
	}
	slices.Sort(stats)
	iv.Lo, iv.Hi = quantileSorted(stats, 0.025), quantileSorted(stats, 0.975)
	return iv
}

// holm adjusts the p-values of one family of comparisons (Holm 1979: sorted ascending,
// p_(i)·(m−i+1), made monotone) and marks those below 0.05. Holm controls the
// family-wise error rate like Bonferroni, with more power.
func holm(es []Effect) {
	order := make([]int, len(es))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return es[order[a]].P < es[order[b]].P })
	m, run := len(es), 0.0
	for rank, i := range order {
		adj := min(1, es[i].P*float64(m-rank))
		run = max(run, adj)
		es[i].PHolm = run
		es[i].Holds = run < 0.05
	}
}

func total(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// mean bootstraps the mean of xs over resampled clusters.
func (c clusters) mean(xs []float64, d draws) Interval {
	s, n := c.sums(xs)
	iv := Interval{Mean: total(s) / max(total(n), 1), N: len(xs)}
	stats := make([]float64, len(d))
	for k, w := range d {
		var ss, nn float64
		for j, m := range w {
			ss += float64(m) * s[j]
			nn += float64(m) * n[j]
		}
		stats[k] = ss / max(nn, 1)
	}
	slices.Sort(stats)
	iv.Lo, iv.Hi = quantileSorted(stats, 0.025), quantileSorted(stats, 0.975)
	return iv
}

// effect is the paired Effect of a − b.
func (c clusters) effect(nameA, nameB, metric string, a, b []float64, d draws) Effect {
	m, lo, hi, p := c.paired(a, b, d)
	return Effect{A: nameA, B: nameB, Metric: metric, Mean: m, Lo: lo, Hi: hi, N: len(a), P: p, Clusters: c.Unit}
}
