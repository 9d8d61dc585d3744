package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/api/teacher"
	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/memstore"
	"github.com/parcours-ent/parcours/recommender/pgstore"
)

// shutdownTimeout bounds how long in-flight requests may finish after SIGINT/SIGTERM.
const shutdownTimeout = 15 * time.Second

// Main is one running service: store, cache, engine and HTTP server, wired from the
// configuration. Tests start it on 127.0.0.1:0.
type Main struct {
	Config  config
	DataDir string    // --data: serve this folder from the embedded store
	Stdout  io.Writer // the banner (URL, demo tokens, curl lines); nil: discarded
	Logger  *slog.Logger

	// Set by Start.
	Store  recommender.Store
	Cache  recommender.Cache
	Engine *recommender.Engine
	Demo   *Demo // nil when no token can be minted (JWKS) or there is no pupil to show
	URL    string

	secret   []byte
	teacher  *teacher.App
	redis    redis.UniversalClient
	http     *http.Server
	serveErr chan error
	stop     context.CancelFunc
	wg       sync.WaitGroup
	closed   bool
}

// Err reports the HTTP server failing after Start (nil channel before Start).
func (m *Main) Err() <-chan error { return m.serveErr }

// Start opens the stores, loads or generates the data, fits the engine, and serves HTTP
// on Config.Addr. It returns the address actually listened on (useful with port 0).
// On error everything already opened is closed.
func (m *Main) Start(ctx context.Context) (addr string, err error) {
	began := time.Now()
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if m.DataDir != "" && m.Config.DatabaseURL != "" {
		return "", badUsage("serve: --data serves a folder from the embedded store; unset DATABASE_URL, or load the folder with `parcours ingest --data %s`", m.DataDir)
	}
	verifier, err := m.verifier()
	if err != nil {
		return "", err
	}
	// Listen first, so that a busy port fails before the data are loaded; connections
	// wait in the backlog until the server runs.
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return "", fmt.Errorf("serve: %w", err)
	}
	defer func() {
		if err != nil && m.http == nil {
			ln.Close()
		}
	}()
	loaded, err := m.openStore(ctx)
	if err != nil {
		return "", err
	}
	loadedAt := time.Now()
	if err := m.openCache(ctx); err != nil {
		return "", err
	}
	m.Engine, err = recommender.New(ctx, m.Store, m.Config.engineConfig())
	if err != nil {
		return "", fmt.Errorf("serve: fitting the engine: %w", err)
	}
	fittedAt := time.Now()

	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	m.stop = stop
	acfg := api.Config{
		Verifier:    verifier,
		CacheTTL:    m.Config.CacheTTL,
		RateLimit:   m.Config.RateLimit,
		RateBurst:   m.Config.RateBurst,
		CORSOrigins: m.Config.CORSOrigins,

		TrustedProxies:  m.Config.TrustedProxies,
		FutureTolerance: m.Config.FutureTolerance,
	}
	if m.Config.AuditSpool != "" {
		spool := api.NewFileSpool(m.Config.AuditSpool)
		acfg.AuditSpool = spool
		m.wg.Go(func() { spool.ReplayEvery(bg, m.Store, 30*time.Second, m.Logger) })
	}
	// With Redis, nothing a request depends on stays in this process: rate-limit counters
	// and the teacher page's sessions and one-time links are shared by every replica.
	var sessions teacher.SessionStore
	var signInLimiter api.SharedLimiter
	if m.redis != nil {
		// 2 sign-ins through the ENT per second per address, 60 at once (a school behind
		// one address at 8 o'clock): at most ~1,200 flow records of ~300 bytes per address.
		signInLimiter = cache.NewRedisLimiter(m.redis, m.Config.RedisPrefix+"oidc:", 2, 60)
		acfg.Limiter = cache.NewRedisLimiter(m.redis, m.Config.RedisPrefix, m.Config.RateLimit, m.Config.RateBurst)
		sessions = cache.NewRedisKV(m.redis, m.Config.RedisPrefix)
	}
	srv := api.New(acfg, m.Engine, m.Store, m.Cache, m.Logger)
	oidcCfg, err := m.Config.oidc()
	if err != nil {
		return "", err
	}
	m.teacher, err = teacher.New(teacher.Config{
		OIDC:          oidcCfg,
		Audit:         m.Store,
		SignInLimiter: signInLimiter,
		API:           srv.Handler(),
		Verifier:      verifier,
		Catalogue:     m.Store,
		PublicOrigin:  m.Config.PublicOrigin,
		SecureCookie:  m.Config.SecureCookie,
		Logger:        m.Logger,
		Sessions:      sessions,
		Roster:        roster(m.Store),
	})
	if err != nil {
		return "", fmt.Errorf("serve: the teacher's page: %w", err)
	}

	m.http = api.NewHTTPServer(ln.Addr().String(), m.teacher.MountAnalyst(m.teacher.Mount(srv.Handler())))
	m.serveErr = make(chan error, 1)
	m.wg.Go(func() {
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.serveErr <- fmt.Errorf("serve: %w", err)
		}
	})
	if m.Config.RefitInterval > 0 {
		m.wg.Go(func() { m.refitEvery(bg, m.Config.RefitInterval) })
	}
	// Stale profiles and pending refits left by a crash, by `parcours ingest` or by another
	// replica are repaired at once, then whenever an ingest leaves some.
	m.wg.Go(func() { m.Engine.Run(bg, recommender.RunOptions{Logger: m.Logger}) })
	if m.Config.PrefetchWorkers > 0 {
		m.wg.Go(func() { srv.RunPrefetch(bg, m.Config.PrefetchWorkers) })
	}
	if cs, ok := m.Store.(recommender.ClientStore); ok && m.Config.ClientsFile != "" && m.Config.DatabaseURL == "" {
		m.wg.Go(func() { m.watchClients(bg, m.Config.ClientsFile, cs, 5*time.Second) })
	}
	addr = ln.Addr().String()
	m.URL = "http://" + addr

	if m.showsDemo() {
		m.Demo, err = pickDemo(ctx, m.Store, m.Engine, m.secret, demoTokenTTL, m.Config.DatabaseURL == "")
		if err != nil {
			return "", fmt.Errorf("serve: choosing demo pupils: %w", err)
		}
		if m.Demo != nil {
			m.Demo.Curls = m.Demo.curls(m.URL)
		}
	}
	elapsed := time.Since(began)
	m.Logger.Info("serving", "addr", addr, "store", m.storeKind(), "cache", m.cacheKind(),
		"loaded", loaded, "model_version", m.Engine.ModelVersion(), "startup_ms", elapsed.Milliseconds(),
		"load_ms", loadedAt.Sub(began).Milliseconds(), "fit_ms", fittedAt.Sub(loadedAt).Milliseconds())
	m.printBanner(loaded, elapsed)
	return addr, nil
}

// Close shuts the HTTP server down gracefully (in-flight requests get shutdownTimeout),
// stops the background work and closes the stores. Safe to call more than once.
func (m *Main) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("serve: shutdown: %w", err))
		}
		cancel()
	}
	if m.stop != nil {
		m.stop()
	}
	m.wg.Wait()
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("serve: closing the store: %w", err))
		}
	}
	if m.redis != nil {
		if err := m.redis.Close(); err != nil {
			errs = append(errs, fmt.Errorf("serve: closing redis: %w", err))
		}
	}
	return errors.Join(errs...)
}

// openStore opens PostgreSQL when DATABASE_URL is set, else the embedded store filled
// from --data or a generated académie. It returns what it loaded, for the banner.
func (m *Main) openStore(ctx context.Context) (string, error) {
	c := m.Config
	if c.DatabaseURL != "" {
		if err := pgstore.Migrate(ctx, c.DatabaseURL); err != nil {
			return "", fmt.Errorf("serve: migrating the database: %w", err)
		}
		s, err := pgstore.Open(ctx, c.DatabaseURL, pgstore.Options{ReadURL: c.DatabaseReadURL, EfSearch: c.EfSearch,
			TombstoneKey: []byte(c.TombstoneKey), VectorMirror: c.VectorSearch == "mirror"})
		if err != nil {
			return "", fmt.Errorf("serve: opening the database: %w", err)
		}
		m.Store = s
		return "database", nil
	}
	s := memstore.New()
	if c.TombstoneKey != "" {
		s.SetTombstoneKey([]byte(c.TombstoneKey))
	}
	m.Store = s
	var (
		d      *datasets.Dataset
		loaded string
		err    error
	)
	if m.DataDir != "" {
		d, err = datasets.LoadFolder(m.DataDir, datasets.LoadOptions{})
		if err != nil {
			return "", fmt.Errorf("serve --data: %w", err)
		}
		loaded = "folder " + m.DataDir
	} else {
		d, _, err = synth.GenerateDataset(synth.Config{Students: c.DemoStudents, Seed: c.DemoSeed})
		if err != nil {
			return "", fmt.Errorf("serve: generating the demo académie: %w", err)
		}
		nameDemo(d)
		loaded = fmt.Sprintf("demo académie of %d pupils (seed %d)", len(d.Students), c.DemoSeed)
	}
	if _, err := s.Ingest(ctx, d); err != nil {
		return "", fmt.Errorf("serve: loading %s: %w", loaded, err)
	}
	if c.ClientsFile != "" {
		if err := loadClients(ctx, c.ClientsFile, s); err != nil {
			return "", fmt.Errorf("serve: %w", err)
		}
	}
	return loaded, nil
}

func (m *Main) openCache(ctx context.Context) error {
	if m.Config.RedisURL == "" {
		m.Cache = cache.NewMemory(0, 0)
		return nil
	}
	client, err := cache.OpenRedis(m.Config.RedisURL)
	if err != nil {
		return badUsage("serve: REDIS_URL: %v", err)
	}
	m.redis = client
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("serve: redis unreachable: %w", err)
	}
	// A Redis loss must cost microseconds, not go-redis's retries on every request: a
	// circuit breaker, with an in-process cache answering while it is open (safe: every
	// cached answer is keyed by the pupil's generation in the store of record).
	m.Cache = cache.NewGuarded(cache.NewRedis(client, m.Config.RedisPrefix), cache.GuardOptions{
		OnStateChange: func(from, to string) {
			m.Logger.Warn("redis circuit breaker", "from", from, "to", to)
		},
	})
	return nil
}

// roster is the store as the teacher page's source of names (both stores are one).
func roster(s recommender.Store) teacher.Roster {
	r, _ := s.(teacher.Roster)
	return r
}

// verifier is the JWKS verifier when PARCOURS_JWKS_URL is set (no demo tokens then: the
// ENT signs them), else HS256 with PARCOURS_JWT_SECRET or, on the embedded store only, a
// random secret of this run. On a database one of the two must be configured.
func (m *Main) verifier() (api.Verifier, error) {
	if m.Config.JWKSURL != "" {
		return api.NewJWKSVerifier(m.Config.JWKSURL, &http.Client{Timeout: 10 * time.Second}), nil
	}
	if m.Config.JWTSecret != "" {
		m.secret = []byte(m.Config.JWTSecret)
	} else if m.Config.DatabaseURL != "" {
		// A random secret on a real database would print tokens for real pupils (the demo
		// banner) and change at every restart, signing everyone out: refuse instead.
		return nil, badUsage("serve: DATABASE_URL is set but neither PARCOURS_JWT_SECRET nor PARCOURS_JWKS_URL is: " +
			"set PARCOURS_JWT_SECRET (at least 32 bytes, e.g. `openssl rand -hex 32`) or PARCOURS_JWKS_URL (the ENT's keys)")
	} else {
		m.secret = []byte(randomSecret())
	}
	v, err := api.NewHS256Verifier(m.secret)
	if err != nil {
		return nil, badUsage("serve: PARCOURS_JWT_SECRET: %v", err)
	}
	return v, nil
}

// randomSecret is 32 random bytes in hex, so that it can be pasted into an environment
// variable as is.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics on a broken system)
	return hex.EncodeToString(b)
}

// refitEvery refits the engine so that population aggregates (popularity, groups,
// analytics) follow the data; per-pupil profiles are already updated on ingest.
func (m *Main) refitEvery(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			began := time.Now()
			if err := m.Engine.Refit(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				m.Logger.Error("periodic refit failed", "err", err.Error())
				continue
			}
			m.Logger.Info("periodic refit", "model_version", m.Engine.ModelVersion(), "ms", time.Since(began).Milliseconds())
		}
	}
}

// showsDemo tells whether serve prints tokens for real ids of the served data. Never on a
// database: those are real pupils, and tokens printed to a production log would open their
// data to anyone who reads it.
func (m *Main) showsDemo() bool {
	return m.secret != nil && m.Config.DatabaseURL == ""
}

func (m *Main) storeKind() string {
	if m.Config.DatabaseURL != "" {
		return "postgresql"
	}
	return "embedded"
}

func (m *Main) cacheKind() string {
	if m.redis != nil {
		return "redis"
	}
	return "in-process"
}

// newLogger writes JSON logs to w. Packages log no personal data; neither does cmd.
func newLogger(w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
