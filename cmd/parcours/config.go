package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/parcours-ent/parcours/api/teacher"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
)

// config is everything read from the environment. The README's configuration table
// lists the same variables; keep them in step.
type config struct {
	DatabaseURL     string        `env:"DATABASE_URL"`
	DatabaseReadURL string        `env:"DATABASE_READ_URL"`
	RedisURL        string        `env:"REDIS_URL"`
	JWTSecret       string        `env:"PARCOURS_JWT_SECRET"`
	JWKSURL         string        `env:"PARCOURS_JWKS_URL"`
	Addr            string        `env:"PARCOURS_ADDR" envDefault:"127.0.0.1:8080"`
	CacheTTL        time.Duration `env:"PARCOURS_CACHE_TTL" envDefault:"10m"`
	RateLimit       float64       `env:"PARCOURS_RATE_LIMIT" envDefault:"50"`
	RateBurst       int           `env:"PARCOURS_RATE_BURST" envDefault:"100"`
	// TargetSuccess is PARCOURS_TARGET_SUCCESS read: a success probability within
	// (0, 1), or "auto" (AutoTarget: chosen from the data at each refit, experimental).
	TargetSuccess    float64 `env:"-"`
	AutoTarget       bool    `env:"-"`
	TargetSuccessRaw string  `env:"PARCOURS_TARGET_SUCCESS" envDefault:"0.7"`
	EfSearch         int     `env:"PARCOURS_EF_SEARCH" envDefault:"400"` // pgstore.DefaultEfSearch: recall@10 >= 0.95 at 100k
	// VectorSearch chooses how serve searches resource vectors on PostgreSQL: "mirror"
	// (exact scan of a copy held in each replica, kept in step by LISTEN/NOTIFY) or
	// "hnsw" (pgvector's index in PostgreSQL). Measured: benchmarks/RESULTS.md.
	VectorSearch   string        `env:"PARCOURS_VECTOR_SEARCH" envDefault:"mirror"`
	AuditRetention time.Duration `env:"PARCOURS_AUDIT_RETENTION" envDefault:"8760h"`
	DataRetention  time.Duration `env:"PARCOURS_DATA_RETENTION" envDefault:"26280h"`
	DemoStudents   int           `env:"PARCOURS_DEMO_STUDENTS" envDefault:"300"`
	DemoSeed       uint64        `env:"PARCOURS_DEMO_SEED" envDefault:"1"`
	// RefitInterval is how often serve refits the engine so that population aggregates
	// follow the data (0: never).
	RefitInterval time.Duration `env:"PARCOURS_REFIT_INTERVAL" envDefault:"1h"`
	// PrefetchWorkers recompute, in the background, the lists of pupils whose data just
	// changed (0: none; the next page view computes). Each takes a core while busy.
	PrefetchWorkers int `env:"PARCOURS_PREFETCH_WORKERS" envDefault:"1"`
	// AuditSpool is a file where serve spools audit entries while the store is down.
	AuditSpool  string `env:"PARCOURS_AUDIT_SPOOL"`
	RedisPrefix string `env:"PARCOURS_REDIS_PREFIX" envDefault:"parcours:"`
	// PublicOrigin is the only Origin the teacher's page accepts a form from (e.g.
	// https://ent.example.fr); empty: the request's own host. SecureCookie forces the
	// Secure flag on its session cookie when TLS ends at a proxy.
	PublicOrigin string `env:"PARCOURS_PUBLIC_ORIGIN"`
	SecureCookie bool   `env:"PARCOURS_SECURE_COOKIE"`
	// ClientsFile holds the LRS clients of the embedded store (`parcours clients add`).
	ClientsFile string `env:"PARCOURS_CLIENTS_FILE"`
	// CORSOrigins are the ENT page origins allowed to call the API from a browser.
	CORSOrigins []string `env:"PARCOURS_CORS_ORIGINS" envSeparator:","`
	// FutureTolerance is how far past now a grade, absence or statement may be dated.
	FutureTolerance time.Duration `env:"PARCOURS_FUTURE_TOLERANCE" envDefault:"24h"`
	// TombstoneKey is the HMAC key of erased pupils' tombstones; empty: the database
	// keeps a key of its own (the embedded store: a random one per run).
	TombstoneKey string `env:"PARCOURS_TOMBSTONE_KEY"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client
	// (comma-separated addresses or CIDR ranges); empty: none.
	TrustedProxies []string `env:"PARCOURS_TRUSTED_PROXIES" envSeparator:","`
	// OIDC* configure the teacher's and analyst's sign-in through the ENT's OpenID
	// provider (api/teacher/oidc.go); unset issuer: no such sign-in.
	OIDCIssuer       string   `env:"PARCOURS_OIDC_ISSUER"`
	OIDCClientID     string   `env:"PARCOURS_OIDC_CLIENT_ID"`
	OIDCClientSecret string   `env:"PARCOURS_OIDC_CLIENT_SECRET"`
	OIDCRedirectURL  string   `env:"PARCOURS_OIDC_REDIRECT_URL"`
	OIDCScopes       []string `env:"PARCOURS_OIDC_SCOPES" envSeparator:","`
	OIDCRoleClaim    string   `env:"PARCOURS_OIDC_ROLE_CLAIM" envDefault:"role"`
	OIDCClassesClaim string   `env:"PARCOURS_OIDC_CLASSES_CLAIM" envDefault:"classes"`
	OIDCSchoolClaim  string   `env:"PARCOURS_OIDC_SCHOOL_CLAIM" envDefault:"school"`
	// OIDCRoleMap maps the role claim's values to Parcours roles: "ENT=parcours,..."
	// (e.g. National_ENS=teacher,ACAD_ANALYSTE=analyst); unset: the values must be
	// Parcours role names.
	OIDCRoleMap map[string]string `env:"PARCOURS_OIDC_ROLE_MAP" envSeparator:"," envKeyValSeparator:"="`
}

// oidc is the teacher page's OpenID Connect sign-in, or nil when no issuer is set.
func (c config) oidc() (*teacher.OIDC, error) {
	if c.OIDCIssuer == "" {
		if c.OIDCClientID != "" || c.OIDCRedirectURL != "" {
			return nil, badUsage("configuration: PARCOURS_OIDC_CLIENT_ID or PARCOURS_OIDC_REDIRECT_URL is set without PARCOURS_OIDC_ISSUER")
		}
		return nil, nil
	}
	o := &teacher.OIDC{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret,
		RedirectURL: c.OIDCRedirectURL, Scopes: c.OIDCScopes, RoleClaim: c.OIDCRoleClaim,
		ClassesClaim: c.OIDCClassesClaim, SchoolClaim: c.OIDCSchoolClaim, RoleMap: c.OIDCRoleMap}
	if err := o.Validate(); err != nil {
		return nil, badUsage("configuration: PARCOURS_%v", err)
	}
	return o, nil
}

// engineConfig is the engine's configuration. serve and `eval recommend` both take it
// from here, so that the evaluation measures the engine serve runs.
func (c config) engineConfig() recommender.Config {
	return recommender.Config{TargetSuccess: c.TargetSuccess, AutoTarget: c.AutoTarget}
}

func loadConfig() (config, error) {
	var c config
	if err := env.Parse(&c); err != nil {
		return c, badUsage("configuration: %v", err)
	}
	c.AutoTarget = c.TargetSuccessRaw == "auto"
	if !c.AutoTarget {
		t, err := strconv.ParseFloat(c.TargetSuccessRaw, 64)
		if err != nil || t <= 0 || t >= 1 {
			return c, badUsage("configuration: PARCOURS_TARGET_SUCCESS must be \"auto\" or within (0, 1), got %q", c.TargetSuccessRaw)
		}
		c.TargetSuccess = t
	}
	if c.AuditRetention < 24*time.Hour || c.DataRetention < 24*time.Hour {
		return c, badUsage("configuration: retention periods must be at least 24h")
	}
	if c.RateLimit <= 0 || c.RateBurst <= 0 {
		return c, badUsage("configuration: PARCOURS_RATE_LIMIT and PARCOURS_RATE_BURST must be positive")
	}
	if c.EfSearch < 0 || c.EfSearch > 1000 {
		return c, badUsage("configuration: PARCOURS_EF_SEARCH must be within 0..1000, got %d", c.EfSearch)
	}
	if c.VectorSearch != "mirror" && c.VectorSearch != "hnsw" {
		return c, badUsage("configuration: PARCOURS_VECTOR_SEARCH must be mirror or hnsw, got %q", c.VectorSearch)
	}
	if c.PrefetchWorkers < 0 || c.PrefetchWorkers > 64 {
		return c, badUsage("configuration: PARCOURS_PREFETCH_WORKERS must be from 0 to 64, got %d", c.PrefetchWorkers)
	}
	if c.RefitInterval < 0 || (c.RefitInterval > 0 && c.RefitInterval < time.Minute) {
		return c, badUsage("configuration: PARCOURS_REFIT_INTERVAL must be 0 (off) or at least 1m, got %v", c.RefitInterval)
	}
	if c.FutureTolerance < 0 {
		return c, badUsage("configuration: PARCOURS_FUTURE_TOLERANCE must not be negative, got %v", c.FutureTolerance)
	}
	if c.TombstoneKey != "" && len(c.TombstoneKey) < 16 {
		return c, badUsage("configuration: PARCOURS_TOMBSTONE_KEY must be at least 16 bytes")
	}
	if _, err := c.oidc(); err != nil {
		return c, err
	}
	if c.DemoStudents < 1 {
		return c, badUsage("configuration: PARCOURS_DEMO_STUDENTS must be positive, got %d", c.DemoStudents)
	}
	return c, nil
}

func (c config) String() string {
	return fmt.Sprintf("addr=%s database=%t redis=%t jwks=%t oidc=%t", c.Addr, c.DatabaseURL != "", c.RedisURL != "", c.JWKSURL != "", c.OIDCIssuer != "")
}

// openDatabase reads the configuration and opens DATABASE_URL for a command that cannot
// run on the embedded store; why (may be empty) tells the user what the embedded store
// lacks. migrate applies pending migrations first (commands that write).
func openDatabase(ctx context.Context, cmd, why string, migrate bool) (*pgstore.Store, config, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, cfg, err
	}
	if cfg.DatabaseURL == "" {
		if why != "" {
			why = " (" + why + ")"
		}
		return nil, cfg, badUsage("%s: DATABASE_URL is not set%s", cmd, why)
	}
	store, err := pgstore.Open(ctx, cfg.DatabaseURL, pgstore.Options{Migrate: migrate, EfSearch: cfg.EfSearch, TombstoneKey: []byte(cfg.TombstoneKey)})
	if err != nil {
		return nil, cfg, fmt.Errorf("%s: %w", cmd, err)
	}
	return store, cfg, nil
}
