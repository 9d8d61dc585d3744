// Package cache holds the two implementations of recommender.Cache: Memory, an in-process
// LRU with TTLs for the embedded default and tests, and Redis, one Redis hash per bucket on
// go-redis's UniversalClient (single node, Sentinel or Cluster) for replicated services.
//
// A cache never decides what is true: it only keeps answers under the version the caller
// read, so it must never return an entry written under an older version of a bucket.
package cache

import (
	"container/list"
	"context"
	"strconv"
	"sync"
	"time"
)

// Memory is an in-process cache: at most MaxBuckets buckets, least recently used evicted
// first, at most MaxFields fields per bucket (the one expiring first evicted first). Safe
// for concurrent use.
type Memory struct {
	maxBuckets int
	maxFields  int
	now        func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     *list.List               // front: most recently used
	seq     uint64                   // version counter: versions are never reused
}

type bucket struct {
	name    string
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
	m := &Memory{
		maxBuckets: maxBuckets,
		maxFields:  maxFields,
		now:        time.Now,
		buckets:    make(map[string]*list.Element),
		lru:        list.New(),
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
		b = &bucket{name: name, version: "m" + strconv.FormatUint(m.seq, 36), expires: now.Add(ttl), fields: map[string]memEntry{}}
		m.buckets[name] = m.lru.PushFront(b)
		m.evict()
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
		if el, ok := m.buckets[n]; ok {
			m.lru.Remove(el)
			delete(m.buckets, n)
		}
	}
	return nil
}

// Ping implements recommender.Cache; an in-process cache is always reachable.
func (m *Memory) Ping(context.Context) error { return nil }

// Len returns the number of buckets held (expired ones included until touched).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}

// live returns the named bucket when it exists and has not expired, marking it used.
// Callers hold m.mu.
func (m *Memory) live(name string, now time.Time) *bucket {
	el, ok := m.buckets[name]
	if !ok {
		return nil
	}
	b := el.Value.(*bucket)
	if !now.Before(b.expires) {
		m.lru.Remove(el)
		delete(m.buckets, name)
		return nil
	}
	m.lru.MoveToFront(el)
	return b
}

func (m *Memory) evict() {
	for len(m.buckets) > m.maxBuckets {
		el := m.lru.Back()
		m.lru.Remove(el)
		delete(m.buckets, el.Value.(*bucket).name)
	}
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
