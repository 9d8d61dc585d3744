package memstore

import "gonum.org/v1/gonum/blas/blas32"

// dot is the search kernel. A length mismatch is a programmer error: callers slice rows
// to the query's length.
//
// The hand-unrolled loop is used because it measured faster than gonum's blas32.Dot on
// this machine's 300-dimension rows; see BenchmarkSearch50k.
func dot(a, b []float32) float32 { return dotUnrolled(a, b) }

// dotUnrolled sums in four independent accumulators so that the additions pipeline.
func dotUnrolled(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		s0 += a[i]*b[i] + a[i+4]*b[i+4]
		s1 += a[i+1]*b[i+1] + a[i+5]*b[i+5]
		s2 += a[i+2]*b[i+2] + a[i+6]*b[i+6]
		s3 += a[i+3]*b[i+3] + a[i+7]*b[i+7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dotGonum is gonum's BLAS level-1 kernel, kept to compare against in benchmarks.
func dotGonum(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("memstore: dot of vectors of different lengths")
	}
	return blas32.Dot(blas32.Vector{N: len(a), Inc: 1, Data: a}, blas32.Vector{N: len(b), Inc: 1, Data: b})
}
