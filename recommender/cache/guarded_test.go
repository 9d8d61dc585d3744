package cache

import (
	"context"
	"errors"
	"testing"
	"time"
)

// deadRedis is a Redis cache on a port where nothing listens.
func deadRedis(tb testing.TB) *Redis {
	tb.Helper()
	client, err := OpenRedis("redis://127.0.0.1:1/0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	return NewRedis(client, "dead:")
}

func TestGuardedWithRedisAway(t *testing.T) {
	ctx := context.Background()
	const ttl = time.Minute
	g := NewGuarded(deadRedis(t), GuardOptions{Failures: 2, Cooldown: time.Hour})
	t.Run("LookupAndStoreFallBackToTheLocalCache", func(t *testing.T) {
		v, _, ok, err := g.Lookup(ctx, "p:S1", "f", ttl)
		if err != nil || ok || v == "" {
			t.Fatalf("Lookup = %q, %t, %v; want a local miss", v, ok, err)
		}
		if wrote, err := g.Store(ctx, "p:S1", v, "f", []byte("answer"), ttl); err != nil || !wrote {
			t.Fatalf("Store = %t, %v", wrote, err)
		}
		if _, val, ok, err := g.Lookup(ctx, "p:S1", "f", ttl); err != nil || !ok || string(val) != "answer" {
			t.Fatalf("Lookup after Store = %q, %t, %v", val, ok, err)
		}
		if !g.Open() {
			t.Fatal("breaker still closed after failures")
		}
	})
	t.Run("DropFailsWhileTheSharedCacheIsAway", func(t *testing.T) {
		if err := g.Drop(ctx, "p:S1"); !errors.Is(err, ErrOpen) {
			t.Fatalf("Drop = %v, want ErrOpen", err)
		}
		if _, _, ok, _ := g.Lookup(ctx, "p:S1", "f", ttl); ok {
			t.Fatal("the local entry survived a Drop")
		}
	})
	t.Run("AnOpenBreakerCostsMicroseconds", func(t *testing.T) {
		const n = 1000
		start := time.Now()
		for range n {
			if _, _, _, err := g.Lookup(ctx, "p:S2", "f", ttl); err != nil {
				t.Fatal(err)
			}
		}
		if per := time.Since(start) / n; per > time.Millisecond {
			t.Fatalf("%v per Lookup with the breaker open, want microseconds", per)
		}
	})
}

// BenchmarkGuardedLookupRedisAway is the cost of a cache read while Redis is away and the
// breaker open: breaker check and in-process lookup.
//
//	go test -run '^$' -bench GuardedLookupRedisAway ./recommender/cache/
func BenchmarkGuardedLookupRedisAway(b *testing.B) {
	ctx := context.Background()
	g := NewGuarded(deadRedis(b), GuardOptions{Failures: 1, Cooldown: time.Hour})
	v, _, _, _ := g.Lookup(ctx, "p:S1", "f", time.Minute)
	g.Store(ctx, "p:S1", v, "f", []byte("answer"), time.Minute)
	b.ResetTimer()
	for b.Loop() {
		if _, _, ok, _ := g.Lookup(ctx, "p:S1", "f", time.Minute); !ok {
			b.Fatal("miss")
		}
	}
}
