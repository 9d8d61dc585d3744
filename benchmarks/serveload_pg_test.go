package benchmarks

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// pgServeEnv prepares PostgreSQL for TestServeLoad when PARCOURS_SERVE_LOAD_PG=1: a
// fresh database loaded the way production loads one (pgstore.IngestFolder, then the
// engine's refit, as `parcours ingest` does) from a generated académie of the given
// pupils whose catalogue is scaled to PARCOURS_SERVE_LOAD_PG_RESOURCES (50,000) resources.
// It returns the variables that point serve at it, with PARCOURS_VECTOR_SEARCH from
// PARCOURS_SERVE_LOAD_VECTOR_SEARCH ("mirror" by default, or "hnsw").
func pgServeEnv(t *testing.T, students int) map[string]string {
	t.Helper()
	ctx := context.Background()
	want := envInt(t, "PARCOURS_SERVE_LOAD_PG_RESOURCES", 50_000, 100, 500_000)
	const competencies = 353 // in the synthetic curriculum
	d, _, err := synth.GenerateDataset(synth.Config{Students: students, Seed: 1, ResourcesPerCompetency: max(1, (want+competencies-1)/competencies)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := datasets.WriteFolder(dir, d); err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDatabase(t)
	st, err := pgstore.Open(ctx, url, pgstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now()
	if _, err := st.IngestFolder(ctx, dir, pgstore.FolderOptions{}); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	eng, err := recommender.New(ctx, st, recommender.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Refit(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL: %d pupils, %d resources; ingest %v, refit %v", len(d.Students), len(d.Resources),
		t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	// A steady-state server: the load's dirty pages written out and its tables vacuumed,
	// so that neither the checkpointer nor autovacuum runs during the measurement.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"CHECKPOINT", "VACUUM ANALYZE"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	search := os.Getenv("PARCOURS_SERVE_LOAD_VECTOR_SEARCH")
	if search == "" {
		search = "mirror"
	}
	return map[string]string{
		"DATABASE_URL":                            url,
		"PARCOURS_VECTOR_SEARCH":                  search,
		"PARCOURS_SERVE_LOAD_PG_RESOURCES_LOADED": strconv.Itoa(len(d.Resources)),
	}
}
