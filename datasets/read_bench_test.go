package datasets

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// gradesCSV builds n plausible grade rows, deterministically.
func gradesCSV(tb testing.TB, n int) []byte {
	tb.Helper()
	gs := make([]Grade, n)
	base := time.Date(2024, 9, 2, 0, 0, 0, 0, time.UTC)
	for i := range gs {
		gs[i] = Grade{ID: fmt.Sprintf("G%08d", i), StudentID: fmt.Sprintf("S%06d", i%5000), Subject: "MATHS",
			Competencies: []string{fmt.Sprintf("M.%d", i%40), fmt.Sprintf("M.%d", 40+i%7)}, AssessmentID: fmt.Sprintf("A%05d", i/30),
			Date: base.Add(time.Duration(i%200) * 24 * time.Hour), Score: float64(i%41) / 2, OutOf: 20, Coefficient: 1}
		if i%17 == 0 {
			gs[i].Status = StatusAbsent
		}
	}
	var buf bytes.Buffer
	if err := WriteGrades(&buf, gs); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkReadGrades(b *testing.B) {
	const rows = 100_000
	data := gradesCSV(b, rows)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := ReadGrades(bytes.NewReader(data), GradesFile, func(Grade) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}

func BenchmarkReadStatements(b *testing.B) {
	const rows = 20_000
	sts := make([]Statement, rows)
	base := time.Date(2024, 9, 2, 0, 0, 0, 0, time.UTC)
	for i := range sts {
		sts[i] = Statement{ID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), StudentID: fmt.Sprintf("S%06d", i%5000),
			Verb: VerbCompleted, ObjectID: fmt.Sprintf("R%04d", i%900), Timestamp: base.Add(time.Duration(i) * time.Minute),
			Scaled: ptr(0.5), Completion: ptr(true), Duration: ptr(time.Duration(i%3600) * time.Second)}
	}
	var buf bytes.Buffer
	if err := WriteStatements(&buf, sts); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ReadStatements(bytes.NewReader(data), UsageFile, func(Statement) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
