package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/cache/redistest"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// testRedis returns a Redis cache under a key prefix of the test's own (see redistest),
// with its client and prefix.
func testRedis(tb testing.TB) (*cache.Redis, redis.UniversalClient, string) {
	tb.Helper()
	client, prefix := redistest.New(tb)
	return cache.NewRedis(client, prefix), client, prefix
}

func testPostgres(tb testing.TB) (*pgstore.Store, string) {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	s, err := pgstore.Open(context.Background(), url, pgstore.Options{Migrate: true})
	if err != nil {
		tb.Fatalf("pgstore.Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, url
}

// rowsHolding counts, per table, the rows whose text form names id as a whole word.
func rowsHolding(tb testing.TB, url, id string, skip func(table string) bool) map[string]int {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		tb.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	if len(tables) < 3 {
		tb.Fatalf("only %d tables: %v", len(tables), tables)
	}
	out := map[string]int{}
	for _, t := range tables {
		if skip(t) {
			continue
		}
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %s AS t WHERE t::text ~ $1`, pgx.Identifier{t}.Sanitize())
		if err := conn.QueryRow(ctx, q, `(^|[^A-Za-z0-9_-])`+id+`([^A-Za-z0-9_-]|$)`).Scan(&n); err != nil {
			tb.Fatalf("%s: %v", t, err)
		}
		if n > 0 {
			out[t] = n
		}
	}
	return out
}

// TestIntegrationPostgresRedis runs the service on PostgreSQL + pgvector and Redis.
func TestIntegrationPostgresRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	rc, client, prefix := testRedis(t)
	st, url := testPostgres(t)
	env := newEnv(t, withStore(st), withCache(rc))

	t.Run("CacheLifecycle", func(t *testing.T) { cacheScenario(t, env) })
	t.Run("AfterErasureNoRowAndNoKeyHoldsThePupil", func(t *testing.T) {
		for _, k := range redistest.Keys(t, client, prefix) {
			if strings.Contains(k, "S1") {
				t.Errorf("redis key %q still names the erased pupil", k)
			}
			vals, _ := client.HGetAll(context.Background(), k).Result()
			for f, v := range vals {
				if strings.Contains(f, "S1") || strings.Contains(v, `"S1"`) {
					t.Errorf("redis key %q holds the erased pupil in %q", k, f)
				}
			}
		}
		left := rowsHolding(t, url, "S1", func(table string) bool {
			return strings.Contains(table, "audit") || strings.Contains(table, "goose")
		})
		if len(left) > 0 {
			t.Fatalf("rows still naming the erased pupil: %v", left)
		}
		if acts := auditActions(t, env.store, "S1"); len(acts) == 0 {
			t.Fatal("audit entries were erased with the pupil")
		}
	})
	t.Run("XAPIBatchWithOneBadStatementStoresNothing", func(t *testing.T) {
		env.reset(t)
		bad := strings.Replace(statement("0b1c2d3e-2222-4000-8000-000000000003", "S2", completed, "R1"), `"verb":{"id":"`+completed+`"}`, `"verb":{}`, 1)
		code, body := xapi(t, env, "["+statement("0b1c2d3e-2222-4000-8000-000000000001", "S2", completed, "R1")+","+bad+"]", nil)
		if code != 400 || !strings.Contains(body, `"field":"/1/verb`) {
			t.Fatalf("%d %s", code, body)
		}
		if n := statementCount(t, env, "S2"); n != 0 {
			t.Fatalf("%d statements stored", n)
		}
		good := statement("0b1c2d3e-2222-4000-8000-000000000001", "S2", completed, "R1")
		for i := 0; i < 2; i++ {
			if code, body := xapi(t, env, good, nil); code != 200 {
				t.Fatalf("%d %s", code, body)
			}
		}
		if n := statementCount(t, env, "S2"); n != 1 {
			t.Fatalf("a statement sent twice stored %d times", n)
		}
	})
	t.Run("AuthorisationMatrix", func(t *testing.T) {
		runMatrix(t, func(t *testing.T) *testEnv { env.reset(t); return env })
	})
}

func TestIntegrationRedisStoppedMidTest(t *testing.T) {
	rc, client, _ := testRedis(t)
	env := newEnv(t, withCache(rc))
	tok := token(t, RoleStudent, "S1")
	if r := recsOf(t, env, tok, "S1"); r.Source != recommender.SourceComputed {
		t.Fatalf("first: %q", r.Source)
	}
	if r := recsOf(t, env, tok, "S1"); r.Source != recommender.SourceCache {
		t.Fatalf("second: %q, want cache", r.Source)
	}
	client.Close() // Redis gone, as far as this service can tell
	for i := 0; i < 3; i++ {
		if r := recsOf(t, env, tok, "S1"); r.Source != recommender.SourceComputed {
			t.Fatalf("with Redis down: source %q, want computed", r.Source)
		}
	}
	metrics := env.do(t, req{method: "GET", path: "/metrics"}).Body.String()
	if !strings.Contains(metrics, `parcours_cache_requests_total{kind="recommendations",result="error"} 3`) {
		t.Fatal("cache errors not counted")
	}
	if w := env.do(t, req{method: "GET", path: "/readyz"}); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"cache":"unreachable"`) {
		t.Fatalf("readyz with Redis down: %d %s, want 200 degraded naming the cache", w.Code, w.Body.String())
	}
	t.Run("ErasureRefusedWhileCacheCannotBeCleared", func(t *testing.T) {
		w := env.do(t, req{method: "DELETE", path: "/v1/students/S1", token: token(t, RoleAdmin, "A1")})
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("erase with Redis down: %d, want 503", w.Code)
		}
		if _, err := env.store.Student(context.Background(), "S1"); err != nil {
			t.Fatal("pupil erased from the store although the cache could not be cleared")
		}
	})
	t.Run("ClosedPortFromTheStart", func(t *testing.T) {
		dead := cache.NewRedis(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1}), "x:")
		env := newEnv(t, withCache(dead))
		if r := recsOf(t, env, tok, "S1"); r.Source != recommender.SourceComputed {
			t.Fatalf("source %q", r.Source)
		}
	})
}
