//go:build unix

package synth

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkGenerateDemo is the embedded demo's académie (300 pupils, what `parcours serve`
// generates at start): it reports the CPU time per académie beside the wall time, since
// the machines are shared and a busy neighbour inflates wall time only. The aim is under
// 2 s of CPU on this machine without the race detector (it was a timed test until a run
// under -race on a loaded machine measured 2.03 s).
//
//	go test -run '^$' -bench GenerateDemo -benchtime 5x -count 3 ./datasets/synth/
func BenchmarkGenerateDemo(b *testing.B) {
	before := cpuTime(b)
	for b.Loop() {
		d, truth, err := GenerateDataset(Config{Students: 300, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Students) != 300 || len(truth.Learners) != 300 {
			b.Fatalf("%d students, %d learners", len(d.Students), len(truth.Learners))
		}
	}
	b.ReportMetric((cpuTime(b)-before).Seconds()/float64(b.N), "cpu-s/op")
}

// The demo académie has the size and shape serve's banner promises.
func TestGenerateDemoAcademie(t *testing.T) {
	d, truth, err := GenerateDataset(Config{Students: 300, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Students) != 300 || len(truth.Learners) != 300 || len(d.Grades) == 0 || len(d.Statements) == 0 {
		t.Fatalf("%d students, %d learners, %d grades, %d statements", len(d.Students), len(truth.Learners), len(d.Grades), len(d.Statements))
	}
}

func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
