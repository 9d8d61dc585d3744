// Package cache holds the two implementations of recommender.Cache: Memory, an in-process
// LRU with TTLs for the embedded default and tests, and Redis, one Redis hash per bucket on
// go-redis's UniversalClient (single node, Sentinel or Cluster) for replicated services.
//
// A cache never decides what is true: it only keeps answers under the version the caller
// read, so it must never return an entry written under an older version of a bucket.
package cache

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Memory is an in-process cache: at most MaxBuckets buckets, least recently used evicted
// first, at most MaxFields fields per bucket (the one expiring first evicted first). Safe
// for concurrent use.
type Memory struct {
	maxBuckets int
	maxFields  int
	now        func() time.Time

	// mu guards buckets and the fields of every bucket. simplelru is the unlocked LRU of
	// hashicorp/golang-lru: a bucket's fields change under the same lock as its recency.
	mu      sync.Mutex
	buckets *simplelru.LRU[string, *bucket]
	seq     uint64 // version counter: versions are never reused
}

type bucket struct {
	version string
	expires time.Time // the bucket dies ttl after its last write
	fields  map[string]memEntry
}

type memEntry struct {
	val     []byte
	expires time.Time
}

// MemoryOption tunes a Memory cache.
type MemoryOption func(*Memory)

// WithClock replaces time.Now (for tests of expiry).
func WithClock(now func() time.Time) MemoryOption { return func(m *Memory) { m.now = now } }

// NewMemory returns an empty cache holding at most maxBuckets buckets of at most maxFields
// fields each (defaults 100,000 and 32 when not positive).
func NewMemory(maxBuckets, maxFields int, opts ...MemoryOption) *Memory {
	if maxBuckets <= 0 {
		maxBuckets = 100_000
	}
	if maxFields <= 0 {
		maxFields = 32
	}
	buckets, err := simplelru.NewLRU[string, *bucket](maxBuckets, nil)
	if err != nil {
		panic(err) // only for a size that is not positive, excluded above
	}
	m := &Memory{
		maxBuckets: maxBuckets,
		maxFields:  maxFields,
		now:        time.Now,
		buckets:    buckets,
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Lookup implements recommender.Cache.
func (m *Memory) Lookup(_ context.Context, name, field string, ttl time.Duration) (string, []byte, bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.live(name, now)
	if b == nil {
		m.seq++
		b = &bucket{version: "m" + strconv.FormatUint(m.seq, 36), expires: now.Add(ttl), fields: map[string]memEntry{}}
		m.buckets.Add(name, b) // evicts the least recently used bucket beyond maxBuckets
		return b.version, nil, false, nil
	}
	e, ok := b.fields[field]
	if !ok || !now.Before(e.expires) {
		return b.version, nil, false, nil
	}
	return b.version, e.val, true, nil
}

// Store implements recommender.Cache.
func (m *Memory) Store(_ context.Context, name, version, field string, val []byte, ttl time.Duration) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.live(name, now)
	if b == nil || b.version != version {
		return false, nil
	}
	if _, exists := b.fields[field]; !exists && len(b.fields) >= m.maxFields {
		b.evictField(now, m.maxFields)
	}
	b.fields[field] = memEntry{val: append([]byte(nil), val...), expires: now.Add(ttl)}
	if exp := now.Add(ttl); exp.After(b.expires) {
		b.expires = exp
	}
	return true, nil
}

// Drop implements recommender.Cache.
func (m *Memory) Drop(_ context.Context, names ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range names {
		m.buckets.Remove(n)
	}
	return nil
}

// Ping implements recommender.Cache; an in-process cache is always reachable.
func (m *Memory) Ping(context.Context) error { return nil }

// Len returns the number of buckets held (expired ones included until touched).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buckets.Len()
}

// live returns the named bucket when it exists and has not expired, marking it used.
// Callers hold m.mu.
func (m *Memory) live(name string, now time.Time) *bucket {
	b, ok := m.buckets.Get(name)
	if !ok {
		return nil
	}
	if !now.Before(b.expires) {
		m.buckets.Remove(name)
		return nil
	}
	return b
}

// evictField removes expired fields, or else the one expiring first.
func (b *bucket) evictField(now time.Time, max int) {
	var first string
	var firstExp time.Time
	for k, e := range b.fields {
		if !now.Before(e.expires) {
			delete(b.fields, k)
			continue
		}
		if first == "" || e.expires.Before(firstExp) || (e.expires.Equal(firstExp) && k < first) {
			first, firstExp = k, e.expires
		}
	}
	if first != "" && len(b.fields) >= max {
		delete(b.fields, first)
	}
}
