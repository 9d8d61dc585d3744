// Package pgtest gives tests a fresh PostgreSQL database with pgvector, one per test, and
// drops it afterwards. The server comes from PARCOURS_TEST_DATABASE_URL (default: the
// local trust-auth server); when it is unreachable the test is skipped, unless CI=true,
// where a missing service must fail the run instead of hiding it.
//
// It is for tests only: it must never be imported by production code, and it never
// touches a database it did not create.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminURL is used when PARCOURS_TEST_DATABASE_URL is unset.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// AdminURL returns the URL of the server tests create their databases on.
func AdminURL() string {
	if u := os.Getenv("PARCOURS_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

var seq atomic.Int64

// NewDatabase creates a database with a unique name and the vector extension, registers
// its removal with tb.Cleanup, and returns its URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin := AdminURL()
	conn, err := connect(ctx, admin)
	if err != nil {
		unavailable(tb, "PostgreSQL unreachable at %s: %v", redact(admin), err)
	}
	defer conn.Close(context.Background())

	// Unique across parallel tests and test binaries run at the same time.
	name := fmt.Sprintf("parcours_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, seq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() { drop(tb, admin, name) })

	dbURL, err := withDatabase(admin, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	db, err := connect(ctx, dbURL)
	if err != nil {
		tb.Fatalf("pgtest: connect to %s: %v", name, err)
	}
	defer db.Close(context.Background())
	if _, err := db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
		unavailable(tb, "pgvector is not installed (run make provision): %v", err)
	}
	return dbURL
}

func connect(ctx context.Context, u string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 5*time.Second {
		cfg.ConnectTimeout = 5 * time.Second
	}
	return pgx.ConnectConfig(ctx, cfg)
}

func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("pgtest: "+format, args...)
	}
	tb.Skipf("pgtest: "+format, args...)
}

func drop(tb testing.TB, admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := connect(ctx, admin)
	if err != nil {
		tb.Errorf("pgtest: drop %s: %v", name, err)
		return
	}
	defer conn.Close(context.Background())
	// FORCE ends connections a test forgot to close, so one leak does not leak databases.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		tb.Errorf("pgtest: drop %s: %v", name, err)
	}
}

// withDatabase returns u with its database replaced by name. It accepts URLs only (not
// key=value connection strings), which is what the environment variable holds.
func withDatabase(u, name string) (string, error) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		return "", fmt.Errorf("PARCOURS_TEST_DATABASE_URL must be a postgres:// URL")
	}
	p.Path = "/" + name
	return p.String(), nil
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return strings.Replace(p.Redacted(), "xxxxx", "***", 1)
}
