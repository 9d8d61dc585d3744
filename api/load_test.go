package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/parcours-ent/parcours/benchmarks/loadgen"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// The scenarios run on the one load generator, benchmarks/loadgen (vegeta, open loop,
// latency from each request's intended send time).
type loadResult = loadgen.Run

func loadRow(r loadResult) string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("| %s | %d | %d | %d | %s | %s | %s | %s | %s |", r.Name, r.Rate, r.N, r.Errors,
		ms(r.Q(0.5)), ms(r.Q(0.9)), ms(r.Q(0.99)), ms(r.Q(0.999)), ms(r.Q(1)))
}

// getTarget is GET url with a bearer token (none when tok is empty).
func getTarget(url, tok string) vegeta.Target {
	t := vegeta.Target{Method: "GET", URL: url, Header: http.Header{}}
	if tok != "" {
		t.Header.Set("Authorization", "Bearer "+tok)
	}
	return t
}

// openLoop warms the server up (connections, caches) with 200 requests outside the
// measurement, then attacks it at rate for d, the i-th request being target(i).
func openLoop(tb testing.TB, name string, rate int, d time.Duration, target func(i uint64) vegeta.Target) loadResult {
	tb.Helper()
	for i := range uint64(200) {
		t := target(i)
		if req, err := t.Request(); err == nil {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
	return loadgen.Attack(tb, name, rate, d, loadgen.Targets(target))
}

// TestLoad measures the service under constant-rate load. It runs only with
// PARCOURS_LOAD=1 (it takes the machine for ~30 s):
//
//	PARCOURS_LOAD=1 go test -run TestLoad -v ./api/
//
// PARCOURS_LOAD_SECONDS sets each scenario's length (default 5).
// PARCOURS_LOAD_ONLY picks one in-memory scenario (cached, bare, uncached).
// PARCOURS_LOAD_PG=1 adds the PostgreSQL scenarios (PARCOURS_LOAD_PG_ONLY=cached or
// uncached picks one) at PARCOURS_LOAD_PG_RATE req/s:
//   - cached: recommendations from Redis, each read audited in PostgreSQL through the
//     store's AppendAudits (group commit); PARCOURS_LOAD_PG_NOBATCH=1 hides that
//     capability, so every read commits its own entry.
//   - uncached: the real engine on PostgreSQL with PARCOURS_LOAD_PG_RESOURCES resources
//     (default 50,000) and no cache: every request reads the pupil, decisions and profile,
//     runs the filtered vector search, logs what was served and audits the read.
//
// For example the uncached PostgreSQL figures with the bare-gin baseline of the same run:
//
//	PARCOURS_LOAD=1 PARCOURS_LOAD_ONLY=bare PARCOURS_LOAD_RATE=200 PARCOURS_LOAD_PG=1 \
//	  PARCOURS_LOAD_PG_ONLY=uncached PARCOURS_LOAD_PG_RATE=200 go test -run TestLoad -v -timeout 20m ./api/
func TestLoad(t *testing.T) {
	if os.Getenv("PARCOURS_LOAD") != "1" {
		t.Skip("set PARCOURS_LOAD=1 to run the load test")
	}
	rate, dur := 2000, 5*time.Second
	if r := os.Getenv("PARCOURS_LOAD_RATE"); r != "" {
		fmt.Sscan(r, &rate)
	}
	if s := os.Getenv("PARCOURS_LOAD_SECONDS"); s != "" {
		var n int
		fmt.Sscan(s, &n)
		dur = time.Duration(max(n, 1)) * time.Second
	}
	var rows []loadResult

	only := os.Getenv("PARCOURS_LOAD_ONLY")

	mem := newEnv(t, withConfig(func(c *Config) { c.RateLimit, c.RateBurst = 1e6, 1e6 }))
	ms := httptest.NewServer(mem.h)
	tok := token(t, RoleStudent, "S1")
	if only == "" || only == "cached" {
		rows = append(rows, openLoop(t, "cached recommendations, memstore + in-process cache", rate, dur, func(uint64) vegeta.Target { return getTarget(ms.URL+"/v1/students/S1/recommendations?k=10", tok) }))
	}
	ms.Close()

	// The same run's baseline: a bare gin handler returning a constant.
	bare := gin.New()
	bare.GET("/const", func(c *gin.Context) { c.JSON(200, gin.H{"ok": true}) })
	bs := httptest.NewServer(bare)
	if only == "" || only == "bare" {
		rows = append(rows, openLoop(t, "bare gin constant", rate, dur, func(uint64) vegeta.Target { return getTarget(bs.URL+"/const", "") }))
	}
	bs.Close()

	if only == "" || only == "uncached" {
		// Uncached: the real engine on a generated académie, no cache, pupils in turn.
		d, st, eng := realEngine(t, 300, 1)
		v, _ := NewHS256Verifier(testSecret)
		srv := httptest.NewServer(New(Config{Verifier: v, RateLimit: 1e6, RateBurst: 1e6}, eng, st, nil, nil).Handler())
		defer srv.Close()
		var urls, toks []string
		for _, p := range d.Students[:100] {
			urls = append(urls, srv.URL+"/v1/students/"+p.ID+"/recommendations?k=10")
			toks = append(toks, token(t, RoleStudent, p.ID))
		}
		uncached := func(i uint64) vegeta.Target { return getTarget(urls[i%uint64(len(urls))], toks[i%uint64(len(urls))]) }
		urate := rate / 10
		rows = append(rows, openLoop(t, fmt.Sprintf("uncached recommendations, real engine + memstore (%d resources)", len(d.Resources)), urate, dur, uncached))
	}

	pgOnly := os.Getenv("PARCOURS_LOAD_PG_ONLY")
	prate := rate
	if r := os.Getenv("PARCOURS_LOAD_PG_RATE"); r != "" {
		fmt.Sscan(r, &prate)
	}
	if os.Getenv("PARCOURS_LOAD_PG") == "1" && (pgOnly == "" || pgOnly == "cached") {
		rc, _, _ := testRedis(t)
		url := pgtest.NewDatabase(t)
		st, err := pgstore.Open(context.Background(), url, pgstore.Options{Migrate: true, MaxConns: 32})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var store recommender.Store = st
		name := "cached recommendations, PostgreSQL (batched audit) + Redis"
		if os.Getenv("PARCOURS_LOAD_PG_NOBATCH") == "1" {
			// Embedding the interface alone hides AppendAudits: one commit per read.
			store = struct{ recommender.Store }{st}
			name = "cached recommendations, PostgreSQL (audit commit per read) + Redis"
		}
		var c recommender.Cache = rc
		if os.Getenv("PARCOURS_LOAD_PG_MEMCACHE") == "1" {
			c = cache.NewMemory(1000, 16)
		}
		pg := newEnv(t, withStore(store), withCache(c), withConfig(func(c *Config) { c.RateLimit, c.RateBurst = 1e6, 1e6 }))
		// Served on store itself (not the test's flaky wrapper), so that its optional
		// capabilities are seen.
		cfg := pg.srv.cfg
		cfg.Registry = nil
		ps := httptest.NewServer(New(cfg, pg.eng, store, c, nil).Handler())
		defer ps.Close()
		rows = append(rows, openLoop(t, name, prate, dur, func(uint64) vegeta.Target { return getTarget(ps.URL+"/v1/students/S1/recommendations?k=10", tok) }))
	}
	if os.Getenv("PARCOURS_LOAD_PG") == "1" && (pgOnly == "" || pgOnly == "uncached") {
		rows = append(rows, pgUncached(t, prate, dur))
	}

	out := "| scenario | req/s | requests | errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n|---|---|---|---|---|---|---|---|---|\n"
	for _, r := range rows {
		out += loadRow(r) + "\n"
	}
	// Every scenario against the bare gin baseline of the same run, when it ran.
	for _, b := range rows {
		if b.Name != "bare gin constant" || b.Q(0.99) <= 0 {
			continue
		}
		for _, r := range rows {
			if r.Name != b.Name {
				out += fmt.Sprintf("\np99 ratio %s / bare gin: %.2f", r.Name, float64(r.Q(0.99))/float64(b.Q(0.99)))
			}
		}
		out += "\n"
	}
	t.Log("\n" + out)
}

// pgUncached measures uncached recommendations on PostgreSQL: a synthetic académie of
// 300 pupils whose catalogue is scaled to about PARCOURS_LOAD_PG_RESOURCES resources, the
// real engine fitted on it (profiles and resource vectors in PostgreSQL, HNSW index), no
// cache, and pupils requested in turn.
func pgUncached(t *testing.T, rate int, dur time.Duration) loadResult {
	t.Helper()
	ctx := context.Background()
	want := 50_000
	if r := os.Getenv("PARCOURS_LOAD_PG_RESOURCES"); r != "" {
		fmt.Sscan(r, &want)
	}
	const competencies = 353 // in the synthetic curriculum
	d, _, err := synth.GenerateDataset(synth.Config{Students: 300, Seed: 1, ResourcesPerCompetency: max(1, (want+competencies-1)/competencies)})
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDatabase(t)
	// A few connections per core: more only make the backends compete for the CPU.
	st, err := pgstore.Open(ctx, url, pgstore.Options{Migrate: true, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now()
	if _, err := st.Ingest(ctx, d); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	eng, err := recommender.New(ctx, st, recommender.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pg uncached: %d resources, ingest %v, fit + vectors + index %v", len(d.Resources), t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	// A steady-state server: the bulk load's dirty pages written out and its tables
	// vacuumed, so that neither the checkpointer nor autovacuum runs during the
	// measurement (without this, searches were caught writing dirty buffers out).
	if err := pgExec(ctx, url, "CHECKPOINT", "VACUUM ANALYZE"); err != nil {
		t.Fatal(err)
	}
	v, _ := NewHS256Verifier(testSecret)
	srv := httptest.NewServer(New(Config{Verifier: v, RateLimit: 1e6, RateBurst: 1e6}, eng, st, nil, nil).Handler())
	defer srv.Close()
	var urls, toks []string
	for _, p := range d.Students {
		urls = append(urls, srv.URL+"/v1/students/"+p.ID+"/recommendations?k=10")
		toks = append(toks, token(t, RoleStudent, p.ID))
	}
	return openLoop(t, fmt.Sprintf("uncached recommendations, real engine + PostgreSQL (%d resources)", len(d.Resources)), rate, dur, func(i uint64) vegeta.Target {
		return getTarget(urls[i%uint64(len(urls))], toks[i%uint64(len(urls))])
	})
}

// pgExec runs statements on their own connection (CHECKPOINT and VACUUM cannot run in a
// transaction, nor through the store).
func pgExec(ctx context.Context, url string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
