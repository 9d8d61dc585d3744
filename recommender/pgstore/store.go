// Package pgstore is the PostgreSQL + pgvector implementation of recommender.Store: school
// data in plain tables, student and resource vectors in vector columns, and maximum
// inner-product search on an HNSW index. Ingest is all-or-nothing per call: each entity
// kind is copied into a temporary staging table, validated in SQL against what is stored
// plus the batch, then upserted so that unchanged rows are not rewritten.
//
// It must never update or delete an audit entry (only the retention purge removes old
// ones), never keep more of an xAPI statement than the contract's fields, and never let a
// driver error escape unwrapped: every error names the method and wraps a recommender
// sentinel where one applies (ErrUnavailable when the server cannot be reached).
package pgstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jackc/puddle/v2"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/parcours-ent/parcours/recommender"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultEfSearch is the HNSW candidate-list size used when Options.EfSearch is zero: the
// smallest value of the recall sweep (benchmarks/pgrecall_test.go, 300 dimensions) whose
// recall@10 is at least 0.95 at 100,000 resources, filtered by subject or not (0.987 and
// 0.956; ef_search 100 gave 0.79 and 0.94 there, but already 0.99 and 1.00 at 10,000).
// Small catalogues are scanned exactly by the planner whatever this is.
const DefaultEfSearch = 400

// DefaultLevelEfSearch is the ef_search of searches filtered by level
// (Options.LevelEfSearch when zero). The engine asks for 100 candidates of the pupil's
// level and the one below, which it then ranks itself: on 50,661 resources (364
// dimensions) its top 10 agreed at 0.994 with ef_search 1000 at ef_search 100 (recall@100
// of the raw search 0.70 against 0.89 at 400), for a third of the search time (3.8 ms
// against 12.5 ms a search, serial, measured with the api load test's catalogue).
const DefaultLevelEfSearch = 100

// Options tune a Store. The zero value is usable.
type Options struct {
	// ReadURL, when set, is a read replica: SearchResources, Profile and Profiles read
	// there. Everything else, and every write, goes to the primary.
	ReadURL string
	// EfSearch is hnsw.ef_search for vector searches (DefaultEfSearch when zero). A search
	// for more than EfSearch results raises it to k for that query.
	EfSearch int
	// LevelEfSearch is hnsw.ef_search for searches filtered by level
	// (DefaultLevelEfSearch when zero; raised to k for that query when smaller).
	LevelEfSearch int
	// IterativeScan is hnsw.iterative_scan for filtered searches: "relaxed_order" (the
	// default; results re-sorted here), "strict_order" or "off" (a filter may then return
	// fewer than k results).
	IterativeScan string
	// MaxConns caps each pool (pgxpool's default when zero).
	MaxConns int32
	// Migrate applies the schema at Open.
	Migrate bool
	// TombstoneKey is the HMAC key of erased pupils' tombstones (recommender.Tombstones);
	// empty: a key the database keeps for itself. Once tombstones exist, Open refuses
	// another key.
	TombstoneKey []byte
	// VectorMirror keeps a copy of the resource vectors in this process and searches it
	// exactly (see mirror.go), PostgreSQL remaining the store of record; unset, every
	// search is an HNSW query in PostgreSQL. serve sets it (PARCOURS_VECTOR_SEARCH).
	VectorMirror bool
}

// Store is a recommender.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	db       *pgxpool.Pool // primary
	read     *pgxpool.Pool // replica, or db
	efSearch int
	// levelEfSearch is the ef_search of per-level searches.
	levelEfSearch int
	noDirect      bool // tests: always stage, to exercise the SQL checks
	tombKey       []byte
	// bulkKeepIndexes keeps secondary indexes during a bulk load that doubles a table
	// (benchmarks: the strategy measured against rebuilding them).
	bulkKeepIndexes bool
	mirror          *mirror // nil unless Options.VectorMirror
	groups          groups  // fast ingests waiting for a group commit (fastpath.go)
	lookups         lookups // xAPI look-ups waiting for a shared round (xapi.go)
}

var _ recommender.Store = (*Store)(nil)

// Open connects to the database at url (and the replica at opts.ReadURL), checks that
// both answer, and applies the schema when opts.Migrate is set.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.EfSearch <= 0 {
		opts.EfSearch = DefaultEfSearch
	}
	if opts.LevelEfSearch <= 0 {
		opts.LevelEfSearch = DefaultLevelEfSearch
	}
	if opts.Migrate {
		if err := Migrate(ctx, url); err != nil {
			return nil, fmt.Errorf("pgstore.Open: %w", err)
		}
	}
	s := &Store{efSearch: opts.EfSearch, levelEfSearch: min(opts.LevelEfSearch, 1000)}
	var err error
	if s.db, err = newPool(ctx, url, opts); err != nil {
		return nil, fmt.Errorf("pgstore.Open: %w", err)
	}
	s.read = s.db
	if opts.ReadURL != "" && opts.ReadURL != url {
		if s.read, err = newPool(ctx, opts.ReadURL, opts); err != nil {
			s.db.Close()
			return nil, fmt.Errorf("pgstore.Open: read replica: %w", err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("pgstore.Open: %w", err)
	}
	if s.tombKey, err = tombstoneKey(ctx, s.db, opts.TombstoneKey); err != nil {
		s.Close()
		return nil, fmt.Errorf("pgstore.Open: %w", err)
	}
	if opts.VectorMirror {
		// LISTEN needs the primary: a hot standby cannot listen.
		if s.mirror, err = startMirror(ctx, url); err != nil {
			s.Close()
			return nil, fmt.Errorf("pgstore.Open: %w", err)
		}
	}
	return s, nil
}

func newPool(ctx context.Context, url string, opts Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: bad database URL: %v", recommender.ErrInvalid, err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	ef := opts.EfSearch
	scan := opts.IterativeScan
	switch scan {
	case "":
		scan = "relaxed_order"
	case "relaxed_order", "strict_order", "off":
	default:
		return nil, fmt.Errorf("%w: iterative scan %q", recommender.ErrInvalid, scan)
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if err := pgxvec.RegisterTypes(ctx, c); err != nil {
			return fmt.Errorf("register vector types (is the schema migrated?): %w", err)
		}
		// Session defaults for every search, so that a search is one round trip: the
		// candidate list size, and iterative scans so that a filter that rejects most
		// candidates still yields k results (relaxed order; SearchResources re-sorts).
		// temp_buffers can only be set before a session's first temporary table: ingest
		// stages whole batches in temporary tables, which then stay in memory.
		// Audit entries must be durable when their commit returns: a server configured
		// with synchronous_commit = off gets it back on for these sessions (LogServed
		// alone turns it off, for its own transaction).
		_, err := c.Exec(ctx, fmt.Sprintf("SET hnsw.ef_search = %d; SET hnsw.iterative_scan = %s; SET temp_buffers = '64MB';"+
			" SELECT set_config('synchronous_commit', 'on', false) WHERE current_setting('synchronous_commit') = 'off'", ef, scan))
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap(err)
	}
	return pool, nil
}

// Migrate applies the embedded schema migrations to the database at url. It is safe to
// run concurrently from several processes: goose holds a PostgreSQL advisory lock.
func Migrate(ctx context.Context, url string) error {
	db, err := openSQL(url)
	if err != nil {
		return fmt.Errorf("pgstore.Migrate: %w", err)
	}
	defer db.Close()
	p, err := newProvider(db)
	if err != nil {
		return fmt.Errorf("pgstore.Migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("pgstore.Migrate: %w", wrap(err))
	}
	return nil
}

// Close releases the pools.
func (s *Store) Close() error {
	if s.mirror != nil {
		s.mirror.stop()
	}
	if s.read != s.db {
		s.read.Close()
	}
	s.db.Close()
	return nil
}

// Ping checks that the primary (and the replica, when there is one) answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore.Ping: %w", wrap(err))
	}
	if s.read != s.db {
		if err := s.read.Ping(ctx); err != nil {
			return fmt.Errorf("pgstore.Ping: replica: %w", wrap(err))
		}
	}
	return nil
}

// wrap maps driver errors onto the recommender sentinels, keeping the original in the
// chain for the log: unreachable server or closed pool -> ErrUnavailable; unique
// violation -> ErrConflict; foreign-key violation -> ErrNotFound; bad value -> ErrInvalid.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505":
			return fmt.Errorf("%w: %w", recommender.ErrConflict, err)
		case pgErr.Code == "23503":
			return fmt.Errorf("%w: %w", recommender.ErrNotFound, err)
		case pgErr.Code[:2] == "22" || pgErr.Code == "23514":
			return fmt.Errorf("%w: %w", recommender.ErrInvalid, err)
		case pgErr.Code[:2] == "08", pgErr.Code == "57P01", pgErr.Code == "57P02",
			pgErr.Code == "57P03", pgErr.Code == "53300":
			return fmt.Errorf("%w: %w", recommender.ErrUnavailable, err)
		}
		return err
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, puddle.ErrClosedPool), pgconn.SafeToRetry(err):
		return fmt.Errorf("%w: %w", recommender.ErrUnavailable, err)
	}
	return err
}

func openSQL(url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: bad database URL: %v", recommender.ErrInvalid, err)
	}
	return stdlib.OpenDB(*cfg), nil
}

func newProvider(db *sql.DB) (*goose.Provider, error) {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, dir, goose.WithSessionLocker(locker))
}
