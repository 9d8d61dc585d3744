package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/cache/redistest"
)

// Two replicas' limiters on one Redis share one budget per subject: the burst is spent
// once, not once per replica, and other subjects keep theirs.
func TestRedisLimiterIsSharedByReplicas(t *testing.T) {
	client, prefix := redistest.New(t)
	ctx := context.Background()
	a := cache.NewRedisLimiter(client, prefix, 1, 5)
	b := cache.NewRedisLimiter(client, prefix, 1, 5)
	allowed := 0
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		ok, err := l.Allow(ctx, "teacher\x00T1")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("%d of 10 requests allowed across two replicas, want the burst of 5", allowed)
	}
	if ok, err := b.Allow(ctx, "teacher\x00T2"); err != nil || !ok {
		t.Fatalf("another subject: %v %v, want allowed", ok, err)
	}
	time.Sleep(1100 * time.Millisecond) // one more at the sustained rate of 1/s
	if ok, err := a.Allow(ctx, "teacher\x00T1"); err != nil || !ok {
		t.Fatalf("after a second: %v %v, want allowed", ok, err)
	}
}

func TestRedisKVTakeWorksOnce(t *testing.T) {
	client, prefix := redistest.New(t)
	ctx := context.Background()
	kv := cache.NewRedisKV(client, prefix)
	if err := kv.Set(ctx, "code", []byte("tok"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := kv.Take(ctx, "code"); err != nil || !ok || string(v) != "tok" {
		t.Fatalf("first take: %q %v %v", v, ok, err)
	}
	if _, ok, err := kv.Take(ctx, "code"); err != nil || ok {
		t.Fatalf("second take: %v %v, want nothing", ok, err)
	}
}
