package api

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

type metrics struct {
	latency     *prometheus.HistogramVec
	cache       *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	rateLimited prometheus.Counter
	audit       *prometheus.CounterVec
	exposures   *prometheus.CounterVec // experiments.go
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parcours_http_request_duration_seconds",
			Help:    "Request latency by route template, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_cache_requests_total",
			Help: "Cache lookups by kind (recommendations, path) and result (hit, miss, error, store_error).",
		}, []string{"kind", "result"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_store_errors_total",
			Help: "Requests that failed because the store was unreachable, by route.",
		}, []string{"route"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parcours_rate_limited_total",
			Help: "Requests refused with 429.",
		}),
		audit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_audit_writes_total",
			Help: "Audit entries by destination (store, spool) and failures.",
		}, []string{"result"}),
	}
	m.exposures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcours_experiment_exposures_total",
		Help: "Lists served to pupils of an experiment's classes, by logging result (ok, error).",
	}, []string{"result"})
	reg.MustRegister(m.latency, m.cache, m.storeErrors, m.rateLimited, m.audit, m.exposures)
	return m
}

// limiter holds one token bucket per token subject. Idle buckets are swept so that a
// flood of distinct subjects cannot grow it without bound.
type limiter struct {
	r     rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*bucketEntry
	swept   time.Time
}

type bucketEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{r: rate.Limit(perSecond), burst: burst, buckets: map[string]*bucketEntry{}, swept: time.Now()}
}

func (l *limiter) allow(key string) bool {
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucketEntry{lim: rate.NewLimiter(l.r, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	l.mu.Unlock()
	return b.lim.AllowN(now, 1)
}
