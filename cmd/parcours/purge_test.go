package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/cache/redistest"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// seedDatabase migrates a fresh test database and ingests a small académie whose school
// year starts at start.
func seedDatabase(tb testing.TB, students int, start time.Time) (url string, counts map[string]int) {
	tb.Helper()
	url = pgtest.NewDatabase(tb)
	ctx := context.Background()
	d, _, err := synth.GenerateDataset(synth.Config{Students: students, Seed: 5, Start: start, Weeks: 12})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := pgstore.Open(ctx, url, pgstore.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Ingest(ctx, d); err != nil {
		tb.Fatal(err)
	}
	return url, map[string]int{"grades": len(d.Grades), "absences": len(d.Absences), "lessons": len(d.Lessons)}
}

func TestPurgeRemovesWhatIsPastRetention(t *testing.T) {
	url, n := seedDatabase(t, 40, time.Date(2019, 9, 2, 0, 0, 0, 0, time.UTC))
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	s, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, at := range []time.Time{time.Now().AddDate(-2, 0, 0), time.Now().Add(-time.Hour)} {
		e := recommender.AuditEntry{At: at, ActorID: "admin-1", ActorRole: "admin", StudentID: "eleve-000001", Action: "export", Detail: "GET /v1/students/:id/export"}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	purge := func() recommender.PurgeCounts {
		t.Helper()
		code, stdout, stderr := runCLI(t, "purge", "--json")
		if code != exitOK {
			t.Fatalf("purge: exit %d: %s", code, stderr)
		}
		var out struct {
			Removed recommender.PurgeCounts `json:"removed"`
		}
		dec := json.NewDecoder(strings.NewReader(stdout))
		if err := dec.Decode(&out); err != nil || dec.More() {
			t.Fatalf("purge --json is not one JSON object (%v): %q", err, stdout)
		}
		return out.Removed
	}
	first := purge()
	// The default retentions are one year of audit and three of school data: the 2019
	// school year is gone, the audit entry of an hour ago stays.
	if first.Audit != 1 || first.Grades != int64(n["grades"]) || first.Absences != int64(n["absences"]) ||
		first.Lessons != int64(n["lessons"]) || first.Statements == 0 {
		t.Fatalf("first purge removed %+v, want 1 audit entry and all of %v plus the statements", first, n)
	}
	if second := purge(); second != (recommender.PurgeCounts{}) {
		t.Fatalf("second purge removed %+v, want nothing", second)
	}
	left, err := s.Audit(ctx, recommender.AuditQuery{})
	if err != nil || len(left) != 1 {
		t.Fatalf("audit after purge: %d entries (%v), want the recent one", len(left), err)
	}
	t.Run("TextOutputNamesTheCutoffs", func(t *testing.T) {
		code, stdout, _ := runCLI(t, "purge")
		if code != exitOK || !strings.Contains(stdout, "purged audit entries before") {
			t.Fatalf("exit %d: %q", code, stdout)
		}
	})
}

func TestServeOnDatabaseWithConfiguredSecretPrintsNoToken(t *testing.T) {
	url, _ := seedDatabase(t, 40, time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC))
	cfg := testConfig(t, 60)
	cfg.DatabaseURL, cfg.JWTSecret = url, "the-deployment-secret-0123456789"
	var out strings.Builder
	m := &Main{Config: cfg, Stdout: &out}
	startMain(t, m)
	if m.Demo != nil || strings.Contains(out.String(), "eyJ") || !strings.Contains(out.String(), "parcours token") {
		t.Fatalf("tokens for real pupils printed by a configured deployment:\n%s", out.String())
	}
}

func TestPurgeWithoutDatabaseExitsTwo(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	code, _, stderr := runCLI(t, "purge")
	if code != exitBadUse || !strings.Contains(stderr, "DATABASE_URL") {
		t.Fatalf("exit %d, stderr %q: want 2 naming DATABASE_URL", code, stderr)
	}
}

func TestServeOnPostgresAndRedis(t *testing.T) {
	redisURL := redistest.URL(t)
	url, _ := seedDatabase(t, 60, time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC))
	cfg := testConfig(t, 60)
	cfg.DatabaseURL, cfg.RedisURL = url, redisURL
	cfg.JWTSecret = "serve-on-postgres-secret-0123456789"
	cfg.RedisPrefix = fmt.Sprintf("parcours-cmdtest:%d:", time.Now().UnixNano())
	var out strings.Builder
	m := &Main{Config: cfg, Stdout: &out}
	startMain(t, m)
	t.Cleanup(func() {
		c, _ := cache.OpenRedis(redisURL)
		defer c.Close()
		ctx := context.Background()
		keys, _ := c.Keys(ctx, cfg.RedisPrefix+"*").Result()
		for _, k := range keys {
			c.Del(ctx, k)
		}
	})
	if !strings.Contains(out.String(), "store: postgresql (database), cache: redis") {
		t.Fatalf("banner does not name PostgreSQL and Redis:\n%s", out.String())
	}
	if strings.Contains(out.String(), "curl ") || strings.Contains(out.String(), "eyJ") {
		t.Fatalf("the banner prints tokens for pupils of a database:\n%s", out.String())
	}
	// The curl lines serve would print on the embedded store, here for a pupil of the
	// database, with tokens of the configured secret.
	d, err := pickDemo(context.Background(), m.Store, m.Engine, []byte(cfg.JWTSecret), time.Hour, false)
	if err != nil || d == nil {
		t.Fatalf("no demo pupil in the seeded database (%v)", err)
	}
	lines := []string{d.curls(m.URL)[0].Line}
	var sources []string
	for range 2 {
		status, body := runPrinted(t, lines[0])
		var r struct {
			Items  []json.RawMessage `json:"items"`
			Source string            `json:"source"`
		}
		if err := json.Unmarshal(body, &r); status != 200 || err != nil || len(r.Items) == 0 {
			t.Fatalf("recommendations: %d %v: %s", status, err, clip(body))
		}
		sources = append(sources, r.Source)
	}
	if sources[0] != "computed" || sources[1] != "cache" {
		t.Fatalf("sources %v, want computed then cache (from Redis)", sources)
	}
	c, _ := cache.OpenRedis(redisURL)
	defer c.Close()
	if keys, err := c.Keys(context.Background(), cfg.RedisPrefix+"*").Result(); err != nil || len(keys) == 0 {
		t.Fatalf("no Redis key under the configured prefix (%v)", err)
	}
}
