package memstore

import (
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/parcours-ent/parcours/recommender/vecindex"
)

// The search kernel is vecindex.ScoreRows: one gonum Gemv (blas32, SSE assembly on
// amd64) over a contiguous run of rows. The per-row kernels below stay for
// BenchmarkSearch50k, which compares them on the same scan (figures in
// benchmarks/RESULTS.md).

// rowScorer and scoreRows name vecindex's kernel type and kernel for the benchmarks.
type rowScorer = vecindex.RowScorer

var scoreRows rowScorer = vecindex.ScoreRows

// perRow turns a dot-product kernel into a rowScorer, to benchmark the per-row kernels
// on the same scan.
func perRow(dot func(a, b []float32) float32) rowScorer {
	return func(q, rows, scores []float32) {
		d := len(q)
		for i := range scores {
			scores[i] = dot(q, rows[i*d:(i+1)*d])
		}
	}
}

// dotUnrolled, kept to compare against in benchmarks, sums in eight independent
// accumulators so that the additions pipeline; reslicing by eight lets the compiler drop
// the bounds checks.
func dotUnrolled(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("memstore: dot of vectors of different lengths")
	}
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(a) >= 8 && len(b) >= 8 {
		s0 += a[0] * b[0]
		s1 += a[1] * b[1]
		s2 += a[2] * b[2]
		s3 += a[3] * b[3]
		s4 += a[4] * b[4]
		s5 += a[5] * b[5]
		s6 += a[6] * b[6]
		s7 += a[7] * b[7]
		a, b = a[8:], b[8:]
	}
	for i := range a {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// dotGonum is gonum's BLAS level-1 kernel, one call per row: the kernel before Gemv, kept
// to compare against in benchmarks.
func dotGonum(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("memstore: dot of vectors of different lengths")
	}
	return blas32.Dot(blas32.Vector{N: len(a), Inc: 1, Data: a}, blas32.Vector{N: len(b), Inc: 1, Data: b})
}
