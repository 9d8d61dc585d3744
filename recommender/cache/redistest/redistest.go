// Package redistest gives tests the test Redis and a key prefix of their own, and removes
// the prefix's keys afterwards. The server comes from PARCOURS_TEST_REDIS_URL (default:
// db 15 of the local server); when it is unreachable the test is skipped, unless CI=true,
// where a missing service must fail the run instead of hiding it.
//
// It is for tests only: it must never be imported by production code, and it never
// deletes a key outside the prefix it handed out. It does not import recommender/cache,
// so that cache's own tests can use it.
package redistest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is used when PARCOURS_TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/15"

var seq atomic.Int64

// URL returns the test Redis's URL once it answers a PING; it skips tb (fails it under
// CI=true) when it does not.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("PARCOURS_TEST_REDIS_URL")
	if u == "" {
		u = DefaultURL
	}
	c := open(tb, u)
	defer c.Close()
	ping(tb, c)
	return u
}

// New returns a client to the test Redis and a key prefix unique to tb (across parallel
// tests and test binaries); at cleanup it closes the client and deletes the prefix's keys
// through a client of its own (the test may have closed its client to simulate an outage).
func New(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	u := URL(tb)
	c := open(tb, u)
	prefix := fmt.Sprintf("parcours-test:%d:%d:%d:%s:", os.Getpid(), time.Now().UnixNano(), seq.Add(1),
		strings.ReplaceAll(tb.Name(), "/", "_"))
	tb.Cleanup(func() {
		c.Close()
		admin := open(tb, u)
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, k := range Keys(tb, admin, prefix) {
			admin.Del(ctx, k)
		}
	})
	return c, prefix
}

// Keys lists the keys under prefix.
func Keys(tb testing.TB, c redis.UniversalClient, prefix string) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("redistest: scan %s*: %v", prefix, err)
	}
	return keys
}

func open(tb testing.TB, u string) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(u)
	if err != nil {
		tb.Fatalf("redistest: PARCOURS_TEST_REDIS_URL: %v", err)
	}
	return redis.NewClient(opt)
}

func ping(tb testing.TB, c *redis.Client) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("redistest: Redis unreachable under CI=true: %v", err)
		}
		tb.Skipf("redistest: Redis unreachable (run make provision, or set PARCOURS_TEST_REDIS_URL): %v", err)
	}
}
