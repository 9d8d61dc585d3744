package cache

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parcours-ent/parcours/recommender/cache/redistest"
)

// store is the method set both caches share (recommender.Cache, restated here so that
// this package's tests do not depend on the recommender package compiling).
type store interface {
	Lookup(ctx context.Context, bucket, field string, ttl time.Duration) (string, []byte, bool, error)
	Store(ctx context.Context, bucket, version, field string, val []byte, ttl time.Duration) (bool, error)
	Drop(ctx context.Context, buckets ...string) error
	Ping(ctx context.Context) error
}

// testRedis returns a Redis cache under a key prefix of the test's own (see redistest).
func testRedis(tb testing.TB) (*Redis, redis.UniversalClient) {
	tb.Helper()
	client, prefix := redistest.New(tb)
	return NewRedis(client, prefix), client
}

func caches(t *testing.T) map[string]func(t *testing.T) store {
	return map[string]func(t *testing.T) store{
		"Memory": func(t *testing.T) store { return NewMemory(100, 8) },
		"Redis":  func(t *testing.T) store { r, _ := testRedis(t); return r },
		"Guarded": func(t *testing.T) store {
			r, _ := testRedis(t)
			return NewGuarded(r, GuardOptions{Local: NewMemory(100, 8)})
		},
	}
}

func TestCacheConformance(t *testing.T) {
	ctx := context.Background()
	const ttl = time.Minute
	for name, mk := range caches(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("LookupOfNewBucketMissesWithNonEmptyVersion", func(t *testing.T) {
				c := mk(t)
				v, _, ok, err := c.Lookup(ctx, "p:1", "q", ttl)
				if err != nil || ok || v == "" {
					t.Fatalf("Lookup = %q, %v, %v; want a version, a miss, no error", v, ok, err)
				}
				v2, _, _, _ := c.Lookup(ctx, "p:1", "other", ttl)
				if v2 != v {
					t.Fatalf("second Lookup version %q, want the same %q", v2, v)
				}
			})
			t.Run("StoreUnderCurrentVersionThenHits", func(t *testing.T) {
				c := mk(t)
				v, _, _, _ := c.Lookup(ctx, "p:1", "q", ttl)
				if ok, err := c.Store(ctx, "p:1", v, "q", []byte("answer"), ttl); !ok || err != nil {
					t.Fatalf("Store = %v, %v; want written", ok, err)
				}
				_, got, ok, err := c.Lookup(ctx, "p:1", "q", ttl)
				if err != nil || !ok || string(got) != "answer" {
					t.Fatalf("Lookup = %q, %v, %v; want the stored answer", got, ok, err)
				}
				if _, _, ok, _ := c.Lookup(ctx, "p:2", "q", ttl); ok {
					t.Fatal("another bucket hit an entry it never stored")
				}
			})
			t.Run("StoreAfterDropIsRefused", func(t *testing.T) {
				c := mk(t)
				v, _, _, _ := c.Lookup(ctx, "p:1", "q", ttl)
				if err := c.Drop(ctx, "p:1"); err != nil {
					t.Fatal(err)
				}
				if ok, err := c.Store(ctx, "p:1", v, "q", []byte("stale"), ttl); ok || err != nil {
					t.Fatalf("Store after Drop = %v, %v; want refused", ok, err)
				}
				v2, got, ok, _ := c.Lookup(ctx, "p:1", "q", ttl)
				if ok || v2 == v {
					t.Fatalf("after Drop: hit=%v (%q) version %q (old %q); want a miss under a new version", ok, got, v2, v)
				}
			})
			t.Run("DropRemovesEveryField", func(t *testing.T) {
				c := mk(t)
				v, _, _, _ := c.Lookup(ctx, "p:1", "a", ttl)
				c.Store(ctx, "p:1", v, "a", []byte("1"), ttl)
				c.Store(ctx, "p:1", v, "b", []byte("2"), ttl)
				c.Drop(ctx, "p:1", "p:absent")
				for _, f := range []string{"a", "b"} {
					if _, _, ok, _ := c.Lookup(ctx, "p:1", f, ttl); ok {
						t.Fatalf("field %s survived Drop", f)
					}
				}
			})
			t.Run("ExpiredFieldMisses", func(t *testing.T) {
				c := mk(t)
				v, _, _, _ := c.Lookup(ctx, "p:1", "q", ttl)
				c.Store(ctx, "p:1", v, "q", []byte("short"), 30*time.Millisecond)
				time.Sleep(60 * time.Millisecond)
				if _, got, ok, _ := c.Lookup(ctx, "p:1", "q", ttl); ok {
					t.Fatalf("expired entry returned: %q", got)
				}
			})
			t.Run("ConcurrentWritersNeverLeaveAnEntryOlderThanTheLastDrop", func(t *testing.T) {
				c := mk(t)
				// Each writer stores the generation it read; Drop bumps the generation.
				// After the last Drop, no entry of an older generation may be readable.
				var mu sync.Mutex
				gen := 0
				var wg sync.WaitGroup
				for w := 0; w < 8; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < 50; i++ {
							// As the service does: version first, then the data.
							v, _, _, err := c.Lookup(ctx, "p:1", "q", ttl)
							if err != nil {
								t.Error(err)
								return
							}
							mu.Lock()
							g := gen
							mu.Unlock()
							c.Store(ctx, "p:1", v, "q", []byte(fmt.Sprint(g)), ttl)
						}
					}()
				}
				for i := 0; i < 20; i++ {
					mu.Lock()
					gen++
					mu.Unlock()
					c.Drop(ctx, "p:1")
					time.Sleep(time.Millisecond)
				}
				wg.Wait()
				_, got, ok, _ := c.Lookup(ctx, "p:1", "q", ttl)
				if ok && string(got) != fmt.Sprint(gen) {
					t.Fatalf("entry of generation %s readable after the last Drop (generation %d)", got, gen)
				}
			})
		})
	}
}

func TestMemoryBounds(t *testing.T) {
	ctx := context.Background()
	t.Run("EvictsLeastRecentlyUsedBucket", func(t *testing.T) {
		m := NewMemory(2, 4)
		for _, b := range []string{"a", "b"} {
			v, _, _, _ := m.Lookup(ctx, b, "q", time.Minute)
			m.Store(ctx, b, v, "q", []byte(b), time.Minute)
		}
		m.Lookup(ctx, "a", "q", time.Minute) // a is now the most recent
		m.Lookup(ctx, "c", "q", time.Minute)
		if m.Len() != 2 {
			t.Fatalf("Len = %d, want 2", m.Len())
		}
		if _, _, ok, _ := m.Lookup(ctx, "a", "q", time.Minute); !ok {
			t.Fatal("recently used bucket a was evicted")
		}
		if _, _, ok, _ := m.Lookup(ctx, "b", "q", time.Minute); ok {
			t.Fatal("least recently used bucket b survived")
		}
	})
	t.Run("KeepsAtMostMaxFieldsPerBucket", func(t *testing.T) {
		now := time.Unix(1000, 0)
		m := NewMemory(10, 3, WithClock(func() time.Time { return now }))
		v, _, _, _ := m.Lookup(ctx, "a", "f0", time.Hour)
		for i := 0; i < 5; i++ {
			now = now.Add(time.Second)
			m.Store(ctx, "a", v, fmt.Sprint("f", i), []byte("x"), time.Minute)
		}
		hits := 0
		for i := 0; i < 5; i++ {
			if _, _, ok, _ := m.Lookup(ctx, "a", fmt.Sprint("f", i), time.Hour); ok {
				hits++
			}
		}
		if hits != 3 {
			t.Fatalf("%d fields held, want 3", hits)
		}
		if _, _, ok, _ := m.Lookup(ctx, "a", "f4", time.Hour); !ok {
			t.Fatal("newest field evicted instead of the oldest")
		}
	})
	t.Run("ExpiredBucketIsRecreatedWithNewVersion", func(t *testing.T) {
		now := time.Unix(1000, 0)
		m := NewMemory(10, 3, WithClock(func() time.Time { return now }))
		v, _, _, _ := m.Lookup(ctx, "a", "q", time.Minute)
		now = now.Add(2 * time.Minute)
		if ok, _ := m.Store(ctx, "a", v, "q", []byte("x"), time.Minute); ok {
			t.Fatal("Store into an expired bucket succeeded")
		}
		if v2, _, _, _ := m.Lookup(ctx, "a", "q", time.Minute); v2 == v {
			t.Fatal("expired bucket kept its version")
		}
	})
}

func TestRedisSpecifics(t *testing.T) {
	ctx := context.Background()
	t.Run("BucketIsOneKeyGoneAfterDrop", func(t *testing.T) {
		r, client := testRedis(t)
		v, _, _, _ := r.Lookup(ctx, "p:S1", "q", time.Minute)
		r.Store(ctx, "p:S1", v, "q", []byte("x"), time.Minute)
		if n := client.Exists(ctx, r.Key("p:S1")).Val(); n != 1 {
			t.Fatalf("key count %d, want 1", n)
		}
		if ttl := client.PTTL(ctx, r.Key("p:S1")).Val(); ttl <= 0 || ttl > time.Minute {
			t.Fatalf("bucket TTL %v, want within (0, 1m]", ttl)
		}
		r.Drop(ctx, "p:S1")
		if n := client.Exists(ctx, r.Key("p:S1")).Val(); n != 0 {
			t.Fatal("key survived Drop")
		}
	})
	t.Run("ClosedClientReturnsErrors", func(t *testing.T) {
		client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
		r := NewRedis(client, "x:")
		if _, _, _, err := r.Lookup(ctx, "b", "f", time.Minute); err == nil {
			t.Fatal("Lookup on an unreachable Redis returned no error")
		}
		if _, err := r.Store(ctx, "b", "v", "f", nil, time.Minute); err == nil {
			t.Fatal("Store on an unreachable Redis returned no error")
		}
		if err := r.Ping(ctx); err == nil {
			t.Fatal("Ping on an unreachable Redis returned no error")
		}
		client.Close()
	})
}

func TestOpenRedis(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"SingleNodeURLGivesClient", "redis://127.0.0.1:6379/3", "*redis.Client"},
		{"CommaSeparatedAddressesGiveCluster", "127.0.0.1:7000,127.0.0.1:7001", "*redis.ClusterClient"},
		{"MasterNameGivesSentinelClient", "redis://127.0.0.1:26379?master_name=mymaster", "*redis.Client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := OpenRedis(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := fmt.Sprintf("%T", c); got != tc.want {
				t.Fatalf("type %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := OpenRedis(""); err == nil {
		t.Fatal("empty URL accepted")
	}
	if _, err := OpenRedis("redis://h:1/notanumber"); err == nil {
		t.Fatal("bad database number accepted")
	}
}
