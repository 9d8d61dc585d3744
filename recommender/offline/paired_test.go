package offline

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestHolmAdjustsAsTheTextbookDoes(t *testing.T) {
	// Holm (1979) on p = 0.01, 0.04, 0.03, 0.005 (m = 4): sorted 0.005·4, 0.01·3,
	// 0.03·2, 0.04·1 = 0.02, 0.03, 0.06, max(0.06, 0.04) = 0.06.
	es := []Effect{{P: 0.01}, {P: 0.04}, {P: 0.03}, {P: 0.005}}
	holm(es)
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i, e := range es {
		if math.Abs(e.PHolm-want[i]) > 1e-12 || e.Holds != (want[i] < 0.05) {
			t.Errorf("p %v: holm %v (holds %v), want %v", e.P, e.PHolm, e.Holds, want[i])
		}
	}
}

// TestPairedBootstrapSeesASmallShiftThatOverlappingCIsHide: b = a − 0.05 + small noise,
// a has a large pupil-to-pupil spread: unpaired CIs overlap, the paired one excludes 0.
func TestPairedBootstrapSeesASmallShiftThatOverlappingCIsHide(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 400
	a, b := make([]float64, n), make([]float64, n)
	schools, classes := make([]string, n), make([]string, n)
	for i := range a {
		a[i] = rng.NormFloat64()
		b[i] = a[i] - 0.05 + 0.01*rng.NormFloat64()
		schools[i] = string(rune('A' + i%20))
		classes[i] = string(rune('a' + i%26))
	}
	c := newClusters(schools, classes)
	if c.Unit != "school" {
		t.Fatalf("resampled %s, want school (20 schools)", c.Unit)
	}
	d := c.draws(500, 7)
	ia, ib := c.mean(a, d), c.mean(b, d)
	if ia.Lo > ib.Hi {
		t.Fatalf("unpaired CIs %v %v do not overlap: the case does not test anything", ia, ib)
	}
	e := c.effect("a", "b", "m", a, b, d)
	if e.Lo <= 0 || math.Abs(e.Mean-0.05) > 0.005 || e.P > 0.01 {
		t.Errorf("paired effect %+v, want ≈0.05 with a CI above 0", e)
	}
}

func TestClustersFallBackToPupilsWhenTooFewSchoolsAndClasses(t *testing.T) {
	c := newClusters([]string{"S", "S", "S"}, []string{"K", "K", "L"})
	if c.Unit != "pupil" || c.n != 3 {
		t.Errorf("unit %s with %d clusters, want pupil with 3", c.Unit, c.n)
	}
}

func TestHeadroomIsOneForTheTopAndZeroForTheBase(t *testing.T) {
	base := []float64{0, 0.1, 0.2, 0.1}
	top := []float64{1, 1.1, 1.2, 1.1}
	half := []float64{0.5, 0.6, 0.7, 0.6}
	c := newClusters([]string{"1", "2", "3", "4"}, []string{"1", "2", "3", "4"})
	d := c.draws(100, 1)
	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{{"top", top, 1}, {"base", base, 0}, {"half way", half, 0.5}} {
		if got := c.ratio(tc.xs, base, top, d); math.Abs(got.Mean-tc.want) > 1e-9 || got.Lo > got.Mean || got.Hi < got.Mean {
			t.Errorf("%s: %+v, want %v", tc.name, got, tc.want)
		}
	}
}
