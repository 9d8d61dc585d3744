package memstore

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// rowScorer writes into scores the inner product of q with each row of the row-major
// matrix rows (len(scores) rows of len(q) columns). A size mismatch is a programmer
// error (panic): the scan slices whole runs of rows.
type rowScorer func(q, rows, scores []float32)

// scoreRows is the search kernel: one gonum Gemv (blas32, SSE assembly on amd64) over a
// contiguous run of rows, the idiomatic call for a matrix-vector product. See
// BenchmarkSearch50k for how it compares with one blas32.Dot per row (dotRows) and with
// a hand-unrolled loop per row; the figures are in benchmarks/RESULTS.md.
func scoreRows(q, rows, scores []float32) {
	if len(rows) != len(q)*len(scores) {
		panic("memstore: scoreRows with a matrix of the wrong size")
	}
	if len(scores) == 0 {
		return
	}
	m := blas32.General{Rows: len(scores), Cols: len(q), Stride: len(q), Data: rows}
	blas32.Gemv(blas.NoTrans, 1, m, blas32.Vector{N: len(q), Inc: 1, Data: q}, 0, blas32.Vector{N: len(scores), Inc: 1, Data: scores})
}

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

// scratch holds per-search score buffers (one run of rows at most), so that a search
// allocates nothing proportional to the catalogue.
var scratch = sync.Pool{New: func() any { return new([]float32) }}

// dotUnrolled, kept to compare against in benchmarks, sums in eight independent accumulators so that the additions pipeline;
// reslicing by eight lets the compiler drop the bounds checks.
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
