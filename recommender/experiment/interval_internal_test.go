package experiment

import (
	"math/rand/v2"
	"sort"
	"testing"
)

// TestIntervalKeepsItsErrorRate: 17 classes of 10 to 29 pupils, class means spread by
// 0.1 and pupils by 0.2 around them, no effect; 8 classes are drawn at random into one arm,
// 9 into the other. Over 1,000 such A/A draws the 95 % interval must exclude zero about
// 5 % of the time (between 2 % and 8 %). The plain percentile interval of the same
// bootstrap, kept here for comparison, does so too often with this few classes.
func TestIntervalKeepsItsErrorRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const reps = 1000
	fp, fpPercentile := 0, 0
	for r := range reps {
		var cs []cluster
		for range 17 {
			mu := 0.4 + 0.1*rng.NormFloat64()
			n := 10 + rng.IntN(20)
			var s float64
			for range n {
				s += mu + 0.2*rng.NormFloat64()
			}
			cs = append(cs, cluster{sum: s, n: n})
		}
		rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
		ctrl, treat := cs[:8], cs[8:]
		if _, lo, hi := bootstrap(ctrl, treat, 1000, uint64(r)); lo > 0 || hi < 0 {
			fp++
		}
		br := rand.New(rand.NewPCG(uint64(r), 7))
		mean := func(cs []cluster) float64 {
			var s float64
			n := 0
			for range cs {
				c := cs[br.IntN(len(cs))]
				s, n = s+c.sum, n+c.n
			}
			return s / float64(n)
		}
		d := make([]float64, 1000)
		for i := range d {
			d[i] = mean(treat) - mean(ctrl)
		}
		sort.Float64s(d)
		if d[25] > 0 || d[974] < 0 {
			fpPercentile++
		}
	}
	t.Logf("A/A false positives at 95 %%: %d of %d (percentile interval: %d)", fp, reps, fpPercentile)
	if fp < 20 || fp > 80 {
		t.Errorf("%d of %d false positives, want about 50", fp, reps)
	}
}
