package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Shared state that no replica may keep to itself: teacher sessions and one-time sign-in
// codes (RedisKV) and rate-limit counters (RedisLimiter). Both live under the same key
// prefix as the cache, so one Redis (or Cluster) serves a whole deployment.

// RedisKV is a small key-value store with expiry: what the teacher page keeps its
// sessions and one-time codes in, so that a session opened through one replica is valid
// on every other, and a one-time code works once whichever replica takes it.
type RedisKV struct {
	client redis.UniversalClient
	prefix string
}

// NewRedisKV wraps a client; keys are prefix + "kv:" + key.
func NewRedisKV(client redis.UniversalClient, prefix string) *RedisKV {
	return &RedisKV{client: client, prefix: prefix + "kv:"}
}

// Set stores val under key for ttl.
func (r *RedisKV) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return r.Delete(ctx, key)
	}
	if err := r.client.Set(ctx, r.prefix+key, val, ttl).Err(); err != nil {
		return fmt.Errorf("cache.RedisKV.Set: %w", err)
	}
	return nil
}

// Get returns the value of key, if any.
func (r *RedisKV) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := r.client.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache.RedisKV.Get: %w", err)
	}
	return b, true, nil
}

// Take returns the value of key and deletes it in one atomic step (GETDEL): of two
// replicas taking the same one-time code at once, one gets it.
func (r *RedisKV) Take(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := r.client.GetDel(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache.RedisKV.Take: %w", err)
	}
	return b, true, nil
}

// Delete removes key.
func (r *RedisKV) Delete(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.prefix+key).Err(); err != nil {
		return fmt.Errorf("cache.RedisKV.Delete: %w", err)
	}
	return nil
}

// RedisLimiter is a rate limiter whose state is in Redis, shared by every replica: the
// generic cell rate algorithm (GCRA) in one Lua script, one round trip and one key per
// limited subject, which expires once the subject has been idle long enough to have its
// whole burst back. A subject gets perSecond requests per second sustained and burst at
// once, across all replicas together.
type RedisLimiter struct {
	client redis.UniversalClient
	prefix string
	period int64 // microseconds between requests at the sustained rate
	burst  int64
}

// NewRedisLimiter returns a limiter of perSecond (> 0) with the given burst (≥ 1); keys
// are prefix + "rl:" + subject.
func NewRedisLimiter(client redis.UniversalClient, prefix string, perSecond float64, burst int) *RedisLimiter {
	return &RedisLimiter{client: client, prefix: prefix + "rl:", period: max(1, int64(1e6/perSecond)), burst: int64(max(1, burst))}
}

// gcra keeps in KEYS[1] the theoretical arrival time (TAT, µs, server clock) of the next
// request at the sustained rate. A request is allowed when TAT - now ≤ (burst-1)·period:
// then TAT advances by one period. The server's clock (TIME) is used, so replicas' clocks
// do not matter.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
local tolerance = (tonumber(ARGV[2]) - 1) * period
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then return 0 end
tat = tat + period
redis.call('SET', KEYS[1], tat, 'PX', math.ceil((tat - now) / 1000) + 1)
return 1
`)

// Allow reports whether subject may make one more request now.
func (l *RedisLimiter) Allow(ctx context.Context, subject string) (bool, error) {
	n, err := gcra.Run(ctx, l.client, []string{l.prefix + subject}, l.period, l.burst).Int()
	if err != nil {
		return false, fmt.Errorf("cache.RedisLimiter.Allow: %w", err)
	}
	return n == 1, nil
}
