package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/singleflight"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// Config holds the service's settings; zero fields take the documented defaults.
type Config struct {
	// Verifier checks bearer tokens (NewHS256Verifier or NewJWKSVerifier). Required.
	Verifier Verifier
	// RequestTimeout bounds the work of one request (default 10s).
	RequestTimeout time.Duration
	// MaxBodyBytes bounds a JSON command body (default 64 KiB); MaxIngestBytes an ingest
	// or xAPI batch (default 16 MiB). Larger bodies get 413.
	MaxBodyBytes   int64
	MaxIngestBytes int64
	// CacheTTL is how long a cached recommendation or path lives (default 10m).
	CacheTTL time.Duration
	// RateLimit is the sustained requests per second allowed per token subject (default
	// 50), RateBurst the burst (default 100).
	RateLimit float64
	RateBurst int
	// Limiter, when set, holds the per-subject rate limit where every replica shares it
	// (cache.RedisLimiter: serve with REDIS_URL); nil: each process counts for itself. It
	// applies RateLimit and RateBurst itself. When it fails, this process's own limiter
	// decides, so a Redis outage neither blocks nor unlimits requests.
	Limiter SharedLimiter
	// MaxK bounds k (default 50); MaxPathLength bounds length (default 20).
	MaxK          int
	MaxPathLength int
	// AuditSpool, when set, takes the audit entries the store cannot write (store down),
	// so that cached answers can still be served; without it such reads fail with 503.
	AuditSpool AuditSpool
	// FutureTolerance is how far past now a grade, absence or statement may be dated
	// (default datasets.DefaultFutureTolerance, a day); later ones are refused with 400.
	FutureTolerance time.Duration
	// InvalidTokenRate is the sustained number of invalid tokens a second allowed per
	// client address (default 1), InvalidTokenBurst the burst (default 20); beyond, 429.
	InvalidTokenRate  float64
	InvalidTokenBurst int
	// TrustedProxies are the addresses (or CIDR ranges) of the reverse proxies whose
	// X-Forwarded-For names the client; empty: none, the client is the connection's peer,
	// so that a caller cannot choose the address its invalid tokens are counted against.
	TrustedProxies []string
	// CORSOrigins are the ENT origins (https://ent.example.fr) whose pages may call the
	// API from the browser; empty: no cross-origin access.
	CORSOrigins []string
	// Registry receives the metrics (default: a registry of the server's own, served at
	// /metrics).
	Registry *prometheus.Registry
	// Now is the experiments' clock (which experiment runs, when a list was served);
	// default time.Now. Tests that simulate weeks set it.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.MaxIngestBytes <= 0 {
		c.MaxIngestBytes = 16 << 20
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = 10 * time.Minute
	}
	if c.RateLimit <= 0 {
		c.RateLimit = 50
	}
	if c.RateBurst <= 0 {
		c.RateBurst = 100
	}
	if c.FutureTolerance <= 0 {
		c.FutureTolerance = datasets.DefaultFutureTolerance
	}
	if c.InvalidTokenRate <= 0 {
		c.InvalidTokenRate = 1
	}
	if c.InvalidTokenBurst <= 0 {
		c.InvalidTokenBurst = 20
	}
	if c.MaxK <= 0 {
		c.MaxK = 50
	}
	if c.MaxPathLength <= 0 {
		c.MaxPathLength = 20
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c
}

// Server is the HTTP service. What it keeps in process is only a speed-up or a bound:
// rate-limit counters, verified tokens (until they expire), in-flight computations, the
// audit batch being written and the prefetch queue; answers and access come from the
// stores, so replicas can run behind any load balancer.
type Server struct {
	cfg     Config
	eng     Engine
	store   Store
	cache   recommender.Cache
	log     *slog.Logger
	metrics *metrics
	limits  *limiter
	// badTokens counts invalid tokens per client address (refuseToken).
	badTokens *limiter
	// limiterPausedUntil (Unix ns): the shared limiter is not asked before then.
	limiterPausedUntil atomic.Int64
	flight             singleflight.Group
	tokens             tokenCache
	auditw             *auditWriter
	pre                *prefetcher
	lrs                *lrs
	hidden             *hiddenView
	exps               Experiments // nil when the store keeps no experiments
	hints              *fieldHints
	handler            http.Handler
}

// New wires a server. cache may be nil (no caching).
func New(cfg Config, eng Engine, store Store, cache recommender.Cache, logger *slog.Logger) *Server {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:       cfg,
		eng:       eng,
		store:     store,
		cache:     cache,
		log:       logger,
		metrics:   newMetrics(cfg.Registry),
		limits:    newLimiter(cfg.RateLimit, cfg.RateBurst),
		badTokens: newLimiter(cfg.InvalidTokenRate, cfg.InvalidTokenBurst),
		auditw:    newAuditWriter(store),
	}
	s.pre = newPrefetcher(cfg.Registry)
	s.lrs = newLRS(store, cfg.Registry)
	s.hidden = newHiddenView(store)
	if x, ok := store.(Experiments); ok {
		s.exps = x
	}
	s.hints = newFieldHints(cfg.CacheTTL)
	s.handler = s.routes()
	return s
}

// Handler returns the service's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// NewHTTPServer returns an http.Server with timeouts suited to this service; the caller
// runs it and shuts it down gracefully.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}

func init() { gin.SetMode(gin.ReleaseMode) }

func (s *Server) routes() http.Handler {
	r := gin.New()
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		// Checked by cmd before New; a bad entry here must not trust everyone.
		s.log.Error("bad trusted proxies; trusting none", "err", err.Error())
		_ = r.SetTrustedProxies(nil)
	}
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(s.observe, securityHeaders, s.recoverPanic)
	if len(s.cfg.CORSOrigins) > 0 {
		r.Use(corsFor(s.cfg.CORSOrigins))
	}
	r.NoRoute(func(c *gin.Context) { writeProblem(c, newProblem(http.StatusNotFound, "no such endpoint")) })
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusMethodNotAllowed, "this endpoint does not take this method"))
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})))
	r.GET("/openapi.json", serveOpenAPI)

	small := s.bodyLimit(s.cfg.MaxBodyBytes)
	big := s.bodyLimit(s.cfg.MaxIngestBytes)
	v1 := r.Group("/v1", s.authenticate, s.rateLimit, s.timeout)
	v1.GET("/students/:id/recommendations", small, s.getRecommendations)
	v1.GET("/students/:id/path", small, s.getPath)
	v1.POST("/students/:id/path/decisions", small, s.postDecision)
	v1.GET("/students/:id/path/decisions", small, s.getDecisions)
	v1.PUT("/students/:id/consent", small, s.putConsent)
	v1.GET("/students/:id/export", small, s.getExport)
	v1.DELETE("/students/:id", small, s.deleteStudent)
	v1.DELETE("/tombstones/:id", small, s.deleteTombstone)
	v1.GET("/classes/:id/overview", small, s.getOverview)
	v1.GET("/resources/:id/similar", small, s.getSimilar)
	v1.POST("/resources/:id/hidden", small, s.setHidden(true))
	v1.DELETE("/resources/:id/hidden", small, s.setHidden(false))
	v1.POST("/ingest/:kind", big, s.postIngest)
	v1.GET("/audit", small, s.getAudit)
	v1.GET("/analytics/overview", small, s.getAnalytics)
	s.experimentRoutes(v1, small)
	s.xapiRoutes(r, big)
	return r
}

// observe records latency by route template (never the raw path: it holds ids) and logs
// the request without personal data.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	d := time.Since(start)
	s.metrics.latency.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Observe(d.Seconds())
	lvl := slog.LevelDebug
	if status >= 500 {
		lvl = slog.LevelWarn
	}
	s.log.Log(c.Request.Context(), lvl, "request", "route", route, "method", c.Request.Method,
		"status", status, "duration_ms", float64(d.Microseconds())/1000)
}

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	c.Next()
}

func (s *Server) recoverPanic(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic", "route", c.FullPath())
			writeProblem(c, newProblem(http.StatusInternalServerError, ""))
		}
	}()
	c.Next()
}

const claimsKey = "parcours.claims"

func (s *Server) authenticate(c *gin.Context) {
	if cl, present, ok := signedIn(c.Request.Context(), time.Now()); present {
		if !ok {
			s.refuseToken(c, jwt.ErrTokenExpired)
			return
		}
		c.Set(claimsKey, cl)
		c.Next()
		return
	}
	h := c.GetHeader("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || raw == "" || len(raw) > 8<<10 {
		s.refuseToken(c, errNoToken)
		return
	}
	raw = strings.TrimSpace(raw)
	if cl := s.tokens.get(raw, time.Now()); cl != nil {
		c.Set(claimsKey, cl)
		c.Next()
		return
	}
	err := checkNumericDates(raw)
	var cl *Claims
	if err == nil {
		cl, err = s.cfg.Verifier.Verify(c.Request.Context(), raw)
	}
	if err != nil {
		s.refuseToken(c, err)
		return
	}
	s.tokens.put(raw, cl)
	c.Set(claimsKey, cl)
	c.Next()
}

// refuseToken answers an invalid token: 401, audited (who: the client's address; on whom:
// the pupil of the path; never the token), or 429 once the address has sent more invalid
// tokens than its budget, so that a flood of forged tokens is neither verified at full
// rate nor written to the audit log at full rate.
func (s *Server) refuseToken(c *gin.Context, err error) {
	if !s.badTokens.allow(s.clientAddr(c)) {
		s.metrics.rateLimited.Inc()
		writeProblem(c, newProblem(http.StatusTooManyRequests, "too many invalid tokens from this address; slow down"))
		return
	}
	id := ""
	if strings.HasPrefix(c.FullPath(), "/v1/students/:id") && checkID("id", c.Param("id")) == nil {
		id = c.Param("id")
	}
	s.auditDenied(c, actAuthenticate, id)
	detail := "the token is not valid"
	switch {
	case errors.Is(err, errNoToken):
		detail = "send Authorization: Bearer <token>"
	case errors.Is(err, jwt.ErrTokenExpired):
		detail = "the token has expired"
	}
	writeProblem(c, newProblem(http.StatusUnauthorized, detail))
}

var errNoToken = errors.New("no bearer token")

// tokenCache remembers tokens already verified, until they expire: the same string
// carries the same signature, so verifying it again would only cost time. Bounded: it is
// emptied when full.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]*Claims
}

const tokenCacheSize = 4096

func (t *tokenCache) get(raw string, now time.Time) *Claims {
	t.mu.Lock()
	cl, ok := t.m[raw]
	t.mu.Unlock()
	if !ok || cl.ExpiresAt == nil || !now.Before(cl.ExpiresAt.Add(Leeway)) {
		return nil
	}
	return cl
}

func (t *tokenCache) put(raw string, cl *Claims) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil || len(t.m) >= tokenCacheSize {
		t.m = make(map[string]*Claims, 64)
	}
	t.m[raw] = cl
}

// clientAddr is the caller's address: the connection's peer, or what a trusted proxy says
// in X-Forwarded-For.
func (s *Server) clientAddr(c *gin.Context) string { return c.ClientIP() }

func claimsOf(c *gin.Context) *Claims {
	v, _ := c.Get(claimsKey)
	cl, _ := v.(*Claims)
	return cl
}

// SharedLimiter is a rate limit kept outside the process (see Config.Limiter).
type SharedLimiter interface {
	Allow(ctx context.Context, subject string) (bool, error)
}

// sharedLimiterPause is how long the shared limiter is left alone after it failed: a
// Redis outage then costs one slow call a second, not one per request.
const sharedLimiterPause = time.Second

// allow asks the shared limiter, and this process's own when there is none, when it
// fails, or for a pause after it failed.
func (s *Server) allow(ctx context.Context, key string) bool {
	if s.cfg.Limiter != nil && time.Now().UnixNano() >= s.limiterPausedUntil.Load() {
		lctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		ok, err := s.cfg.Limiter.Allow(lctx, key)
		cancel()
		if err == nil {
			return ok
		}
		s.limiterPausedUntil.Store(time.Now().Add(sharedLimiterPause).UnixNano())
		s.metrics.storeErrors.WithLabelValues("ratelimit").Inc()
		s.log.Warn("shared rate limiter failed; this process limits alone for a while", "error", err.Error())
	}
	return s.limits.allow(key)
}

func (s *Server) rateLimit(c *gin.Context) {
	cl := claimsOf(c)
	if !s.allow(c.Request.Context(), cl.Role+"\x00"+cl.Subject) {
		s.metrics.rateLimited.Inc()
		writeProblem(c, newProblem(http.StatusTooManyRequests, "too many requests for this token; slow down"))
		return
	}
	c.Next()
}

func (s *Server) timeout(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

func (s *Server) bodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			writeProblem(c, errTooLarge)
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := gin.H{"store": "ok", "cache": "ok"}
	ready, status := true, "ready"
	if err := s.store.Ping(ctx); err != nil {
		checks["store"], ready = "unreachable", false
	}
	if s.cache == nil {
		checks["cache"] = "none"
	} else if err := s.cache.Ping(ctx); err != nil {
		// Still ready: every answer can be computed without the cache, and a load
		// balancer must not take every replica out because Redis is down. Operators see
		// it here and in parcours_cache_requests_total{result="error"}.
		checks["cache"], status = "unreachable", "degraded"
	}
	if !ready {
		c.Header("Content-Type", "application/problem+json")
		c.Header("Retry-After", retryAfterUnavailable)
		p := newProblem(http.StatusServiceUnavailable, "a store is unreachable")
		c.JSON(http.StatusServiceUnavailable, gin.H{"type": p.Type, "title": p.Title, "status": p.Status,
			"detail": p.Detail, "instance": c.Request.URL.Path, "checks": checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": status, "checks": checks})
}
