package api

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
)

// Issue 13.1: access and consent never come from a cache that can be stale. Each case
// changes the store of record behind the cache's back, as `parcours ingest` does (it
// never touches the cache), or while the cache cannot be cleared, on the real PostgreSQL
// and Redis.

// moveAndWithdraw is what a nightly `parcours ingest` of students.csv does: S1 moves to
// class C2, S2 withdraws consent. It goes to the store directly, not through the API.
func moveAndWithdraw(tb testing.TB, s recommender.Store) {
	tb.Helper()
	_, err := s.Ingest(context.Background(), &datasets.Dataset{Students: []datasets.Student{
		{ID: "S1", SchoolID: "SCH1", ClassID: "C2", Level: "6e", Consent: true},
		{ID: "S2", SchoolID: "SCH1", ClassID: "C1", Level: "6e", Consent: false},
	}})
	if err != nil {
		tb.Fatalf("ingest: %v", err)
	}
}

func TestStaleCacheNeverGrants(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	t.Run("ClassChangeByCLIIngestRevokesTheOldTeacher", func(t *testing.T) {
		pg, _ := testPostgres(t)
		rc, _, _ := testRedis(t)
		env := newEnv(t, withStore(pg), withCache(rc))
		teacher := token(t, RoleTeacher, "T1", classes("C1"))
		recsOf(t, env, teacher, "S1") // caches the answer (and, before the fix, the class)
		moveAndWithdraw(t, pg)
		if w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations?k=5", token: teacher}); w.Code != http.StatusForbidden {
			t.Fatalf("teacher of the old class after a CLI ingest moved the pupil: %d, want 403", w.Code)
		}
	})
	t.Run("ConsentWithdrawnByCLIIngestStopsCachedPersonalisedAnswers", func(t *testing.T) {
		pg, _ := testPostgres(t)
		rc, _, _ := testRedis(t)
		env := newEnv(t, withStore(pg), withCache(rc))
		tok := token(t, RoleStudent, "S2")
		if r := recsOf(t, env, tok, "S2"); r.Source != recommender.SourceComputed {
			t.Fatalf("first read: source %q", r.Source)
		}
		moveAndWithdraw(t, pg)
		if r := recsOf(t, env, tok, "S2"); r.Source != recommender.SourceFallback {
			t.Fatalf("after consent was withdrawn in the store: source %q, want fallback", r.Source)
		}
	})
	t.Run("ConsentPutFailsWhenTheCacheCannotBeCleared", func(t *testing.T) {
		pg, _ := testPostgres(t)
		rc, _, _ := testRedis(t)
		cut := &cuttableCache{Cache: rc}
		env := newEnv(t, withStore(pg), withCache(cut))
		tok := token(t, RoleStudent, "S2")
		recsOf(t, env, tok, "S2")
		cut.cut = true
		w := env.do(t, req{method: "PUT", path: "/v1/students/S2/consent", token: token(t, RoleAdmin, "A1"), body: `{"personalization":false}`})
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Fatalf("consent PUT with the cache unreachable: %d (Retry-After %q), want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
		}
		cut.cut = false
		w = env.do(t, req{method: "PUT", path: "/v1/students/S2/consent", token: token(t, RoleAdmin, "A1"), body: `{"personalization":false}`})
		if w.Code != http.StatusOK {
			t.Fatalf("retry: %d %s", w.Code, w.Body.String())
		}
		if r := recsOf(t, env, tok, "S2"); r.Source != recommender.SourceFallback {
			t.Fatalf("after the withdrawal: source %q, want fallback", r.Source)
		}
	})
	t.Run("ClassChangeByAPIIngestFailsWhenTheCacheCannotBeCleared", func(t *testing.T) {
		pg, _ := testPostgres(t)
		rc, _, _ := testRedis(t)
		cut := &cuttableCache{Cache: rc}
		env := newEnv(t, withStore(pg), withCache(cut))
		teacher := token(t, RoleTeacher, "T1", classes("C1"))
		recsOf(t, env, teacher, "S1")
		cut.cut = true
		w := env.do(t, req{method: "POST", path: "/v1/ingest/students", token: token(t, RoleService, "ent"),
			body: `[{"student_id":"S1","school_id":"SCH1","class_id":"C2","level":"6e","consent":true}]`})
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Fatalf("class change with the cache unreachable: %d, want 503 with Retry-After", w.Code)
		}
		cut.cut = false
		if w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations?k=5", token: teacher}); w.Code != http.StatusOK {
			t.Fatalf("the refused class change changed something: teacher of the old class %d, want 200", w.Code)
		}
		w = env.do(t, req{method: "POST", path: "/v1/ingest/students", token: token(t, RoleService, "ent"),
			body: `[{"student_id":"S1","school_id":"SCH1","class_id":"C2","level":"6e","consent":true}]`})
		if w.Code != http.StatusOK {
			t.Fatalf("retry: %d %s", w.Code, w.Body.String())
		}
		if w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations?k=5", token: teacher}); w.Code != http.StatusForbidden {
			t.Fatalf("teacher of the old class once the cache is back: %d, want 403", w.Code)
		}
	})
	t.Run("ErasureOnOneReplicaIsSeenByAnotherWithItsOwnCache", func(t *testing.T) {
		pg, _ := testPostgres(t)
		a := newEnv(t, withStore(pg), withCache(cache.NewMemory(100, 16)))
		b := newEnv(t, withStore(pg), withCache(cache.NewMemory(100, 16)))
		tok := token(t, RoleStudent, "S1")
		recsOf(t, b, tok, "S1")
		if w := a.do(t, req{method: "DELETE", path: "/v1/students/S1", token: token(t, RoleAdmin, "A1")}); w.Code != http.StatusNoContent {
			t.Fatalf("erase: %d %s", w.Code, w.Body.String())
		}
		if w := b.do(t, req{method: "GET", path: "/v1/students/S1/recommendations?k=5", token: tok}); w.Code != http.StatusNotFound {
			t.Fatalf("the other replica after the erasure: %d, want 404", w.Code)
		}
	})
}

// cuttableCache is a cache whose invalidations fail while cut, as a partitioned Redis's
// would; reads still answer, so the stale entries are there to be served.
type cuttableCache struct {
	recommender.Cache
	cut bool
}

func (c *cuttableCache) Drop(ctx context.Context, buckets ...string) error {
	if c.cut {
		return errors.New("cuttable: partitioned")
	}
	return c.Cache.Drop(ctx, buckets...)
}
