package recommender

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
)

// kmeansRestarts and kmeansIters bound the clustering work of one overview.
const (
	kmeansRestarts = 4
	kmeansIters    = 50
)

// chooseClusters groups rows (one need vector per pupil) by k-means for every k in
// 2..maxK (at most n-1), and keeps the k with the best mean silhouette. It falls back to
// a single group when there are fewer than 4 rows or no k separates them (silhouette
// ≤ 0). Clusters are numbered by their first row; same input and seed, same answer.
func chooseClusters(rows [][]float64, maxK int, seed uint64) (assign []int, centroids [][]float64) {
	n := len(rows)
	one := func() ([]int, [][]float64) {
		return make([]int, n), [][]float64{mean(rows, make([]int, n), 0)}
	}
	if n < 4 {
		return one()
	}
	dist := make([][]float64, n) // pairwise distances, shared by every k's silhouette
	for i := range rows {
		dist[i] = make([]float64, n)
		for j := range i {
			dist[i][j] = floats.Distance(rows[i], rows[j], 2)
			dist[j][i] = dist[i][j]
		}
	}
	bestSil := 0.0
	for k := 2; k <= min(maxK, n-1); k++ {
		a, c := kmeans(rows, k, seed)
		if sil := silhouette(dist, a, k); sil > bestSil+1e-12 {
			bestSil, assign, centroids = sil, a, c
		}
	}
	if assign == nil {
		return one()
	}
	return renumber(assign, centroids)
}

// kmeans runs Lloyd's algorithm from k-means++ seeds, restarted a few times; it returns
// the assignment with the least inertia.
func kmeans(rows [][]float64, k int, seed uint64) ([]int, [][]float64) {
	var bestA []int
	var bestC [][]float64
	bestInertia := math.Inf(1)
	for rs := range kmeansRestarts {
		rng := rand.New(rand.NewPCG(seed, uint64(k*1000+rs)))
		c := seedPlusPlus(rows, k, rng)
		a := make([]int, len(rows))
		for range kmeansIters {
			changed := false
			for i, r := range rows {
				j := nearest(r, c)
				if j != a[i] {
					a[i], changed = j, true
				}
			}
			for j := range c {
				if m := mean(rows, a, j); m != nil {
					c[j] = m
				}
			}
			if !changed {
				break
			}
		}
		inertia := 0.0
		for i, r := range rows {
			d := floats.Distance(r, c[a[i]], 2)
			inertia += d * d
		}
		if inertia < bestInertia-1e-12 {
			bestInertia, bestA, bestC = inertia, a, c
		}
	}
	return bestA, bestC
}

// seedPlusPlus picks k initial centroids, each new one with probability proportional to
// its squared distance from those already picked.
func seedPlusPlus(rows [][]float64, k int, rng *rand.Rand) [][]float64 {
	c := [][]float64{append([]float64(nil), rows[rng.IntN(len(rows))]...)}
	d2 := make([]float64, len(rows))
	for len(c) < k {
		total := 0.0
		for i, r := range rows {
			d := floats.Distance(r, c[nearest(r, c)], 2)
			d2[i] = d * d
			total += d2[i]
		}
		pick := 0
		if total > 0 {
			x := rng.Float64() * total
			for i, v := range d2 {
				if x -= v; x <= 0 {
					pick = i
					break
				}
			}
		} else {
			pick = rng.IntN(len(rows))
		}
		c = append(c, append([]float64(nil), rows[pick]...))
	}
	return c
}

func nearest(r []float64, c [][]float64) int {
	best, bestD := 0, math.Inf(1)
	for j, cen := range c {
		if d := floats.Distance(r, cen, 2); d < bestD {
			best, bestD = j, d
		}
	}
	return best
}

// mean is the centroid of the rows assigned to j; nil when none is.
func mean(rows [][]float64, assign []int, j int) []float64 {
	var m []float64
	n := 0
	for i, r := range rows {
		if assign[i] != j {
			continue
		}
		if m == nil {
			m = make([]float64, len(r))
		}
		floats.Add(m, r)
		n++
	}
	if n == 0 {
		return nil
	}
	floats.Scale(1/float64(n), m)
	return m
}

// silhouette is the mean silhouette coefficient of an assignment (singletons score 0),
// from the pairwise distances.
func silhouette(dist [][]float64, assign []int, k int) float64 {
	n := len(dist)
	size := make([]int, k)
	for _, a := range assign {
		size[a]++
	}
	total := 0.0
	sums := make([]float64, k)
	for i := range dist {
		if size[assign[i]] <= 1 {
			continue
		}
		clear(sums)
		for j := range dist {
			if j != i {
				sums[assign[j]] += dist[i][j]
			}
		}
		a := sums[assign[i]] / float64(size[assign[i]]-1)
		b := math.Inf(1)
		for c := range k {
			if c != assign[i] && size[c] > 0 {
				b = min(b, sums[c]/float64(size[c]))
			}
		}
		if math.IsInf(b, 1) {
			continue
		}
		if d := max(a, b); d > 0 {
			total += (b - a) / d
		}
	}
	return total / float64(n)
}

// renumber orders clusters by their first row and drops empty ones.
func renumber(assign []int, centroids [][]float64) ([]int, [][]float64) {
	id := map[int]int{}
	var cs [][]float64
	out := make([]int, len(assign))
	for i, a := range assign {
		j, ok := id[a]
		if !ok {
			j = len(cs)
			id[a] = j
			cs = append(cs, centroids[a])
		}
		out[i] = j
	}
	return out, cs
}
