package api

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours-ent/parcours/recommender"
)

// prefetchQuery is the request a pupil's page makes first (the contract's defaults): the
// list recomputed after an event, so that the next page view is a cache hit.
var prefetchQuery = recommender.Request{K: 10, Lang: "fr"}

// maxPrefetchPending bounds the pupils waiting for a recomputed list; beyond it, events
// only invalidate (the next view computes), and the drop is counted.
const maxPrefetchPending = 10_000

// prefetcher recomputes the lists of pupils whose data changed, in the background. A
// pupil waits at most once: further events before the recompute share it, and the wait is
// measured from the oldest of them.
type prefetcher struct {
	mu      sync.Mutex
	pending map[string]time.Time // pupil -> when their list became stale
	queue   []string             // FIFO of pending pupils
	wake    chan struct{}

	freshness prometheus.Histogram
	dropped   prometheus.Counter
}

func newPrefetcher(reg prometheus.Registerer) *prefetcher {
	p := &prefetcher{
		pending: map[string]time.Time{},
		wake:    make(chan struct{}, 1),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parcours_prefetch_freshness_seconds",
			Help:    "From an event's commit to the pupil's recomputed list in the cache.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parcours_prefetch_dropped_total",
			Help: "Pupils not prefetched because the queue was full.",
		}),
	}
	reg.MustRegister(p.freshness, p.dropped)
	return p
}

// prefetch queues the pupils' lists for a background recompute; it never blocks.
func (s *Server) prefetch(ids []string) {
	if s.cache == nil || len(ids) == 0 {
		return
	}
	p := s.pre
	now := time.Now()
	p.mu.Lock()
	for _, id := range ids {
		if _, ok := p.pending[id]; ok {
			continue
		}
		if len(p.pending) >= maxPrefetchPending {
			p.dropped.Inc()
			continue
		}
		p.pending[id] = now
		p.queue = append(p.queue, id)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *prefetcher) next() (string, time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		return "", time.Time{}, false
	}
	id := p.queue[0]
	p.queue[0] = ""
	p.queue = p.queue[1:]
	t := p.pending[id]
	delete(p.pending, id)
	return id, t, true
}

// RunPrefetch recomputes queued lists with workers goroutines until ctx ends. The lists
// go through the same cached path as a request (cachedAnswer), so the cache's versions
// hold: a list computed from data read before a newer event is refused by the cache, and
// that event has queued the pupil again. Nothing is audited (nobody reads anything) and
// nothing is logged as served (nobody was shown it).
func (s *Server) RunPrefetch(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for {
				id, since, ok := s.pre.next()
				if !ok {
					select {
					case <-ctx.Done():
						return
					case <-s.pre.wake:
						continue
					}
				}
				if ctx.Err() != nil {
					return
				}
				s.prefetchOne(ctx, id, since)
			}
		})
	}
	wg.Wait()
}

func (s *Server) prefetchOne(ctx context.Context, id string, since time.Time) {
	// The generation read now keys the entry, as a request's would: one committed after
	// this read makes the entry unreachable, and that change queued the pupil again.
	acc, err := s.store.Access(ctx, id)
	if err != nil {
		s.metrics.cache.WithLabelValues("prefetch", "error").Inc()
		return
	}
	// The same key as getRecommendations asks for: k widened by the class's hidden resources.
	hidden, err := s.hidden.forClass(ctx, acc.ClassID)
	if err != nil {
		s.metrics.cache.WithLabelValues("prefetch", "error").Inc()
		return
	}
	pol, _, armKey, err := s.armOf(ctx, acc) // an experiment's class: the arm's list and key
	if err != nil {
		s.metrics.cache.WithLabelValues("prefetch", "error").Inc()
		return
	}
	req := prefetchQuery
	req.StudentID = id
	req.Prefetch = true
	req.Policy = pol
	req.K = min(req.K+len(hidden), s.cfg.MaxK)
	query := "k=" + strconv.Itoa(req.K) + "&subject=" + req.Subject + "&lang=" + req.Lang + armKey
	_, err = cachedAnswer(ctx, s, "recommendations", acc, query,
		func(ctx context.Context) (recommender.Recommendations, error) {
			rec, err := s.eng.Recommend(ctx, req)
			if err == nil && pol != nil {
				rec.ListID = listID(rec.StudentID, rec.ModelVersion, pol.Name, rec.GeneratedAt)
			}
			return rec, err
		}, recsHit)
	if err != nil {
		s.metrics.cache.WithLabelValues("prefetch", "error").Inc()
		return
	}
	s.pre.freshness.Observe(time.Since(since).Seconds())
}
