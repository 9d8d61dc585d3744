package datasets

import (
	"io"
	"math"
)

func nanValue() float64 { return math.NaN() }

// readAll collects a whole file read by a streaming reader.
func readAll[T any](r io.Reader, name string, read func(io.Reader, string, func(T) error) error) ([]T, error) {
	return collect(func(fn func(T) error) error { return read(r, name, fn) })
}
