package oulad

import "testing"

// BenchmarkImportRealOULAD measures a whole import of the 2013 presentations.
func BenchmarkImportRealOULAD(b *testing.B) {
	in := realData(b)
	for b.Loop() {
		if _, err := Import(in, b.TempDir(), nil); err != nil {
			b.Fatal(err)
		}
	}
}
