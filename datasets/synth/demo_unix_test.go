//go:build unix

package synth

import (
	"syscall"
	"testing"
	"time"
)

// TestGenerateDatasetIsFastEnoughForTheDemo bounds the CPU time of the embedded demo's
// académie (300 pupils) to 2 s. CPU time rather than wall time: the test machines are
// shared, and a busy neighbour must not fail it; the wall time is logged.
func TestGenerateDatasetIsFastEnoughForTheDemo(t *testing.T) {
	before := cpuTime(t)
	start := time.Now()
	d, truth, err := GenerateDataset(Config{Students: 300, Seed: 1})
	wall, cpu := time.Since(start), cpuTime(t)-before
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("300 pupils in memory: %v wall, %v CPU; %d grades, %d statements", wall.Round(time.Millisecond),
		cpu.Round(time.Millisecond), len(d.Grades), len(d.Statements))
	if len(d.Students) != 300 || len(truth.Learners) != 300 {
		t.Fatalf("%d students, %d learners", len(d.Students), len(truth.Learners))
	}
	if cpu > 2*time.Second {
		t.Fatalf("GenerateDataset(300) used %v of CPU, want < 2s", cpu)
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
