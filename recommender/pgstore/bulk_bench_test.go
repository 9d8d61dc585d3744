package pgstore_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender/pgstore"
)

var (
	benchFolderOnce sync.Once
	benchFolderDir  string
	benchFolderErr  error
)

// benchFolder generates one académie for the folder benchmarks (PARCOURS_BENCH_PUPILS
// pupils, 3,000 by default: about 270,000 grades and 400,000 statements).
func benchFolder(b *testing.B) string {
	b.Helper()
	benchFolderOnce.Do(func() {
		n := 3000
		if v, err := strconv.Atoi(os.Getenv("PARCOURS_BENCH_PUPILS")); err == nil && v > 0 {
			n = v
		}
		benchFolderDir, benchFolderErr = os.MkdirTemp("", "parcours-bulk-bench-")
		if benchFolderErr == nil {
			benchFolderErr = synth.Generate(synth.Config{Students: n, Seed: 1}, benchFolderDir, nil)
		}
	})
	if benchFolderErr != nil {
		b.Fatal(benchFolderErr)
	}
	return benchFolderDir
}

// benchmarkIngestFolder loads a generated académie into a fresh database per iteration
// (the code path of `parcours ingest`) and reports the rows/s of grades.csv and
// usage.jsonl: their rows over the time of their own steps (read and COPY into staging,
// checks, merge, reference checks), from the load's trace.
func benchmarkIngestFolder(b *testing.B, keepIndexes bool) {
	dir := benchFolder(b)
	ctx := context.Background()
	spent := map[string]float64{}
	rows := map[string]int{}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s, _ := openBulkStore(b)
		pgstore.BulkKeepIndexes(s, keepIndexes)
		b.StartTimer()
		res, err := s.IngestFolder(ctx, dir, pgstore.FolderOptions{
			Trace: func(file, _ string, ms float64) { spent[file] += ms },
		})
		if err != nil {
			b.Fatal(err)
		}
		for f, n := range res.Rows {
			rows[f] += n
		}
	}
	for _, f := range []string{datasets.GradesFile, datasets.UsageFile} {
		if spent[f] > 0 {
			b.ReportMetric(float64(rows[f])/(spent[f]/1000), f+"-rows/s")
		}
	}
}

func BenchmarkIngestFolder(b *testing.B) {
	b.Run("RebuildIndexes", func(b *testing.B) { benchmarkIngestFolder(b, false) })
	b.Run("KeepIndexes", func(b *testing.B) { benchmarkIngestFolder(b, true) })
}
