package cache

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps each bucket in one Redis hash named prefix + "{" + bucket + "}": field "v"
// holds the version, data fields are stored as "f:" + field with their expiry in front of
// the value. The braces are a hash tag, so a bucket is one key on one Cluster slot, and
// erasing a pupil is one DEL. Both reads and writes are single Lua scripts, so the version
// check and the write are atomic on the server.
type Redis struct {
	client    redis.UniversalClient
	prefix    string
	maxFields int
}

// NewRedis wraps a client. prefix namespaces the keys (e.g. "parcours:"); tests use a
// prefix of their own.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix, maxFields: 32}
}

// OpenRedis connects to the Redis named by rawURL: a redis:// or rediss:// URL for one
// node; the same with master_name=NAME for Sentinel; several comma-separated addresses
// (or addr= parameters) for a Cluster.
func OpenRedis(rawURL string) (redis.UniversalClient, error) {
	rawURL = strings.TrimSpace(rawURL)
	if rawURL == "" {
		return nil, errors.New("cache.OpenRedis: empty URL")
	}
	if strings.Contains(rawURL, ",") {
		parts := strings.Split(rawURL, ",")
		first := parts[0]
		if !strings.Contains(first, "://") {
			first = "redis://" + first
		}
		u, err := url.Parse(first)
		if err != nil {
			return nil, fmt.Errorf("cache.OpenRedis: %w", err)
		}
		q := u.Query()
		for _, p := range parts[1:] {
			p = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(p), "redis://"), "rediss://")
			q.Add("addr", p)
		}
		u.RawQuery = q.Encode()
		rawURL = u.String()
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("cache.OpenRedis: %w", err)
	}
	q := u.Query()
	// Timeouts for a cache on the local network, unless the URL sets its own: go-redis's
	// defaults (dial 5 s, read 3 s, 3 retries with backoff) made every request wait
	// seconds when Redis was away. No retries: a failed call falls back at once, and the
	// circuit breaker (Guarded) stops calling after a few.
	for k, v := range map[string]string{"dial_timeout": "250ms", "read_timeout": "250ms",
		"write_timeout": "250ms", "pool_timeout": "500ms", "max_retries": "-1",
		"min_retry_backoff": "8ms", "max_retry_backoff": "32ms"} {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	rawURL = u.String()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("cache.OpenRedis: sentinel: %w", err)
		}
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("cache.OpenRedis: cluster: %w", err)
		}
		return redis.NewClusterClient(o), nil
	default:
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("cache.OpenRedis: %w", err)
		}
		return redis.NewClient(o), nil
	}
}

// Key returns the Redis key of a bucket (for tests and operators).
func (r *Redis) Key(bucket string) string { return r.prefix + "{" + bucket + "}" }

// KEYS[1] bucket; ARGV: fresh version, ttl ms, field.
var lookupScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if not v then
  redis.call('HSET', KEYS[1], 'v', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {ARGV[1], false}
end
return {v, redis.call('HGET', KEYS[1], ARGV[3])}
`)

// KEYS[1] bucket; ARGV: expected version, field, value, ttl ms, max fields.
var storeScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[5]) then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'v', ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
local ttl = tonumber(ARGV[4])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`)

// Lookup implements recommender.Cache.
func (r *Redis) Lookup(ctx context.Context, bucket, field string, ttl time.Duration) (string, []byte, bool, error) {
	fresh, err := newVersion()
	if err != nil {
		return "", nil, false, fmt.Errorf("cache.Redis.Lookup: %w", err)
	}
	res, err := lookupScript.Run(ctx, r.client, []string{r.Key(bucket)}, fresh, ttlMillis(ttl), "f:"+field).Slice()
	if err != nil {
		return "", nil, false, fmt.Errorf("cache.Redis.Lookup: %w", err)
	}
	if len(res) < 1 {
		return "", nil, false, errors.New("cache.Redis.Lookup: short reply")
	}
	version, _ := res[0].(string)
	if version == "" {
		return "", nil, false, errors.New("cache.Redis.Lookup: bucket without version")
	}
	if len(res) < 2 || res[1] == nil {
		return version, nil, false, nil
	}
	raw, _ := res[1].(string)
	if len(raw) < 8 {
		return version, nil, false, nil
	}
	if exp := int64(binary.BigEndian.Uint64([]byte(raw[:8]))); time.Now().UnixMilli() >= exp {
		return version, nil, false, nil
	}
	return version, []byte(raw[8:]), true, nil
}

// Store implements recommender.Cache.
func (r *Redis) Store(ctx context.Context, bucket, version, field string, val []byte, ttl time.Duration) (bool, error) {
	buf := make([]byte, 8+len(val))
	binary.BigEndian.PutUint64(buf, uint64(time.Now().Add(ttl).UnixMilli()))
	copy(buf[8:], val)
	n, err := storeScript.Run(ctx, r.client, []string{r.Key(bucket)}, version, "f:"+field, buf, ttlMillis(ttl), r.maxFields).Int()
	if err != nil {
		return false, fmt.Errorf("cache.Redis.Store: %w", err)
	}
	return n == 1, nil
}

// Drop implements recommender.Cache. Keys are deleted one by one so that it works on a
// Cluster, where one DEL may not span slots.
func (r *Redis) Drop(ctx context.Context, buckets ...string) error {
	if len(buckets) == 0 {
		return nil
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, b := range buckets {
			p.Del(ctx, r.Key(b))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache.Redis.Drop: %w", err)
	}
	return nil
}

// Ping implements recommender.Cache.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cache.Redis.Ping: %w", err)
	}
	return nil
}

func ttlMillis(ttl time.Duration) int64 {
	if ms := ttl.Milliseconds(); ms > 0 {
		return ms
	}
	return 1
}

// newVersion returns a version unique across replicas and restarts.
func newVersion() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
