package api

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// BenchmarkCachedRecommendations is the in-process cost of one cached answer: token,
// rate limit, cache hit, audit append, JSON.
//
//	go test -run '^$' -bench CachedRecommendations -benchmem ./api/
func BenchmarkCachedRecommendations(b *testing.B) {
	env := newEnv(b, withConfig(func(c *Config) { c.RateLimit, c.RateBurst = 1e9, 1e9 }))
	tok := token(b, RoleStudent, "S1")
	recsOf(b, env, tok, "S1")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("GET", "/v1/students/S1/recommendations?k=10", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		env.h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkCachedRecommendationsPostgresRedis is the cost of one cached answer as serve
// runs it on PostgreSQL and Redis: token, rate limit, the pupil's access row read from
// PostgreSQL (one primary-key read: class, consent, generation), the Redis hit, the audit
// append (group commit), JSON. Run in parallel so that the audit batches as in service.
//
//	go test -run '^$' -bench CachedRecommendationsPostgresRedis -count 5 ./api/
func BenchmarkCachedRecommendationsPostgresRedis(b *testing.B) {
	pg, _ := testPostgres(b)
	rc, _, _ := testRedis(b)
	env := newEnv(b, withStore(pg), withCache(rc), withConfig(func(c *Config) { c.RateLimit, c.RateBurst = 1e9, 1e9 }))
	tok := token(b, RoleStudent, "S1")
	recsOf(b, env, tok, "S1")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "/v1/students/S1/recommendations?k=5", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			env.h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}

// BenchmarkCachedRecommendationsPostgresRedisSerial is one cached read after another (no
// concurrency: no group commit to share), so ns/op is the read's critical path: the
// access row from PostgreSQL, the cache lookup in Redis and the durable audit commit.
// It reports the median and p99 of the reads.
func BenchmarkCachedRecommendationsPostgresRedisSerial(b *testing.B) {
	pg, _ := testPostgres(b)
	rc, _, _ := testRedis(b)
	env := newEnv(b, withStore(pg), withCache(rc), withConfig(func(c *Config) { c.RateLimit, c.RateBurst = 1e9, 1e9 }))
	tok := token(b, RoleStudent, "S1")
	recsOf(b, env, tok, "S1")
	recsOf(b, env, tok, "S1")
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		r := httptest.NewRequest("GET", "/v1/students/S1/recommendations?k=5", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		env.h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
