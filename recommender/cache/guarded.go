package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/parcours-ent/parcours/recommender"
)

// Guarded is the cache `serve` runs over Redis: a circuit breaker (sony/gobreaker) around
// the shared cache, and an in-process cache that answers while the breaker is open.
//
// Without it, every request paid go-redis's dial attempts and retries when Redis was
// down (1.5 s each). With it, after Failures consecutive errors the shared cache is not
// called for Cooldown; then one probe goes through, and its success closes the breaker.
// Meanwhile reads and writes of answers go to the local cache, which every answer stored
// in Redis is also written through to, so that a Redis loss costs microseconds and the
// answers this replica computed stay cached. That is safe across replicas because no
// answer is taken from any cache without the pupil's generation read from the store of
// record in its key (recommender.Access): a local entry can be missing, never stale.
//
// Drop (invalidation) never pretends: it clears the local cache and returns the shared
// cache's error, or ErrOpen while the breaker is open, so that writes which must clear
// the cache (consent, class changes, erasure) fail while Redis is away.
type Guarded struct {
	remote recommender.Cache
	local  *Memory
	cb     *gobreaker.CircuitBreaker[struct{}]
}

// ErrOpen is returned by Drop while the breaker keeps the shared cache out.
var ErrOpen = errors.New("cache: shared cache unreachable (circuit open)")

// GuardOptions tune a Guarded cache; zero fields take the defaults.
type GuardOptions struct {
	// Failures is the number of consecutive errors that open the breaker (default 3).
	Failures uint32
	// Cooldown is how long the breaker stays open before one probe (default 2s).
	Cooldown time.Duration
	// Local holds answers while the breaker is open (default NewMemory(10000, 32)).
	Local *Memory
	// OnStateChange is told when the breaker opens, half-opens or closes (for the log).
	OnStateChange func(from, to string)
}

// NewGuarded wraps remote (a *Redis) with a breaker and a local fallback.
func NewGuarded(remote recommender.Cache, o GuardOptions) *Guarded {
	if o.Failures == 0 {
		o.Failures = 3
	}
	if o.Cooldown <= 0 {
		o.Cooldown = 2 * time.Second
	}
	if o.Local == nil {
		o.Local = NewMemory(10_000, 32)
	}
	st := gobreaker.Settings{
		Name:        "redis",
		MaxRequests: 1,
		Timeout:     o.Cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= o.Failures },
		// A caller that went away says nothing about Redis.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
	}
	if o.OnStateChange != nil {
		st.OnStateChange = func(_ string, from, to gobreaker.State) { o.OnStateChange(from.String(), to.String()) }
	}
	return &Guarded{remote: remote, local: o.Local, cb: gobreaker.NewCircuitBreaker[struct{}](st)}
}

// Versions say which cache handed them out, so that Store goes back to the same one.
const (
	remoteTag = "r"
	localTag  = "l"
)

// Open reports whether the breaker currently keeps the shared cache out.
func (g *Guarded) Open() bool { return g.cb.State() == gobreaker.StateOpen }

func (g *Guarded) call(f func() error) error {
	_, err := g.cb.Execute(func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// Lookup implements recommender.Cache: the shared cache, or the local one when the
// shared cache fails or the breaker is open.
func (g *Guarded) Lookup(ctx context.Context, bucket, field string, ttl time.Duration) (string, []byte, bool, error) {
	var (
		v   string
		val []byte
		ok  bool
	)
	err := g.call(func() error {
		var err error
		v, val, ok, err = g.remote.Lookup(ctx, bucket, field, ttl)
		return err
	})
	if err == nil {
		return remoteTag + v, val, ok, nil
	}
	v, val, ok, lerr := g.local.Lookup(ctx, bucket, field, ttl)
	if lerr != nil {
		return "", nil, false, fmt.Errorf("cache.Guarded.Lookup: %w", errors.Join(err, lerr))
	}
	return localTag + v, val, ok, nil
}

// Store implements recommender.Cache, in the cache that handed out version.
func (g *Guarded) Store(ctx context.Context, bucket, version, field string, val []byte, ttl time.Duration) (bool, error) {
	if v, ok := strings.CutPrefix(version, localTag); ok {
		return g.local.Store(ctx, bucket, v, field, val, ttl)
	}
	v, ok := strings.CutPrefix(version, remoteTag)
	if !ok {
		return false, nil // not one of ours: nothing could match it
	}
	var wrote bool
	err := g.call(func() error {
		var err error
		wrote, err = g.remote.Store(ctx, bucket, v, field, val, ttl)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("cache.Guarded.Store: %w", err)
	}
	if wrote {
		// Written through to the local cache, so that it is warm when Redis goes away.
		if lv, _, _, err := g.local.Lookup(ctx, bucket, field, ttl); err == nil {
			_, _ = g.local.Store(ctx, bucket, lv, field, val, ttl)
		}
	}
	return wrote, nil
}

// Drop implements recommender.Cache: both caches; the shared cache's failure (or ErrOpen)
// is returned.
func (g *Guarded) Drop(ctx context.Context, buckets ...string) error {
	_ = g.local.Drop(ctx, buckets...) // in-process: never fails
	err := g.call(func() error { return g.remote.Drop(ctx, buckets...) })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return fmt.Errorf("cache.Guarded.Drop: %w", ErrOpen)
	}
	if err != nil {
		return fmt.Errorf("cache.Guarded.Drop: %w", err)
	}
	return nil
}

// Ping implements recommender.Cache: the shared cache itself, whatever the breaker says
// (readiness reports what is true now).
func (g *Guarded) Ping(ctx context.Context) error { return g.remote.Ping(ctx) }
