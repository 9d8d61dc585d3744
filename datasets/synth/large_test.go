package synth

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGenerateLargeAcademie is the scale check: PARCOURS_SYNTH_LARGE=100000 generates
// that many pupils and fails beyond 2 minutes or 1 GiB of peak resident memory (VmHWM,
// the whole test process). It is opt-in: it writes gigabytes and takes the machine.
func TestGenerateLargeAcademie(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PARCOURS_SYNTH_LARGE"))
	if n <= 0 {
		t.Skip("set PARCOURS_SYNTH_LARGE=100000 to run the scale check")
	}
	dir := t.TempDir()
	start := time.Now()
	if err := Generate(Config{Students: n, Seed: 42}, dir, nil); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	peak := peakRSS(t)
	var size int64
	for _, f := range fileNames[:fAbility] {
		if st, err := os.Stat(dir + "/" + f); err == nil {
			size += st.Size()
		}
	}
	t.Logf("%d pupils: %v, peak RSS %d MiB, %d MiB of data files", n, took.Round(time.Millisecond), peak>>20, size>>20)
	if took > 2*time.Minute {
		t.Errorf("took %v, want < 2m", took)
	}
	if peak > 1<<30 {
		t.Errorf("peak RSS %d MiB, want < 1024", peak>>20)
	}
}

// peakRSS reads the process's high-water resident set size from /proc (Linux).
func peakRSS(tb testing.TB) int64 {
	tb.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Skip("no VmHWM in /proc/self/status")
	return 0
}
