package pgstore_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

func TestAppendAuditsAppendsInOrderWithIncreasingIDs(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	if err := s.AppendAudit(ctx, recommender.AuditEntry{At: at, ActorID: "T0", ActorRole: "teacher", StudentID: "S0", Action: "export"}); err != nil {
		t.Fatal(err)
	}
	batch := make([]recommender.AuditEntry, 300)
	for i := range batch {
		batch[i] = recommender.AuditEntry{
			// Times deliberately out of order: ids follow the slice, not the clock.
			At: at.Add(time.Duration(len(batch)-i) * time.Second), ActorID: "T1", ActorRole: "teacher",
			StudentID: "S" + string(rune('A'+i%26)), Action: "recommendations.read", Detail: "GET /v1/students/x/recommendations?k=" + string(rune('0'+i%10)),
		}
	}
	batch[7].At = time.Time{} // stamped now
	before := time.Now()
	if err := s.AppendAudits(ctx, batch); err != nil {
		t.Fatalf("AppendAudits: %v", err)
	}
	if err := s.AppendAudits(ctx, nil); err != nil {
		t.Fatalf("AppendAudits(nil): %v", err)
	}
	got, err := s.Audit(ctx, recommender.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1+len(batch) {
		t.Fatalf("Audit holds %d entries, want %d", len(got), 1+len(batch))
	}
	for i, e := range got[1:] {
		if e.ID <= got[i].ID {
			t.Fatalf("entry %d: id %d after %d, want increasing", i, e.ID, got[i].ID)
		}
		want := batch[i]
		want.ID = e.ID
		if i == 7 {
			if e.At.Before(before.Add(-time.Second)) || e.At.After(time.Now().Add(time.Second)) {
				t.Fatalf("entry without a time stamped %v, want about now", e.At)
			}
			want.At = e.At
		}
		if !e.At.Equal(want.At) || e.ActorID != want.ActorID || e.ActorRole != want.ActorRole ||
			e.StudentID != want.StudentID || e.Action != want.Action || e.Detail != want.Detail {
			t.Fatalf("entry %d = %+v, want %+v", i, e, want)
		}
	}
}

func TestAppendAuditsWritesAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	good := recommender.AuditEntry{ActorID: "T1", ActorRole: "teacher", StudentID: "S1", Action: "path.read"}
	bad := good
	bad.Detail = "nul \x00 byte" // PostgreSQL text cannot hold it: the whole statement fails
	err := s.AppendAudits(ctx, []recommender.AuditEntry{good, good, bad, good})
	if !errors.Is(err, recommender.ErrInvalid) {
		t.Fatalf("AppendAudits with a NUL byte: %v, want ErrInvalid", err)
	}
	if got, err := s.Audit(ctx, recommender.AuditQuery{}); err != nil || len(got) != 0 {
		t.Fatalf("after the failed batch Audit = %d entries (%v), want none", len(got), err)
	}
	if err := s.AppendAudits(ctx, []recommender.AuditEntry{good, good}); err != nil {
		t.Fatalf("AppendAudits after a failure: %v", err)
	}
	if got, err := s.Audit(ctx, recommender.AuditQuery{}); err != nil || len(got) != 2 {
		t.Fatalf("Audit = %d entries (%v), want 2", len(got), err)
	}
}

// Audit writes rely on synchronous commits; LogServed alone commits asynchronously.
func TestSessionsCommitSynchronouslyWhateverTheServerDefault(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET synchronous_commit = off"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	// One connection, so that LogServed and the check share a session.
	s, err := pgstore.Open(ctx, dbURL, pgstore.Options{Migrate: true, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(when string) {
		t.Helper()
		v, err := pgstore.SynchronousCommit(ctx, s)
		if err != nil || v != "on" {
			t.Fatalf("synchronous_commit %s = %q (%v), want on", when, v, err)
		}
	}
	check("on a database defaulting to off")
	ingest(t, s, storetest.Fixture())
	if err := s.LogServed(ctx, "S1", []string{"R01"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	check("after LogServed (its SET LOCAL must not leak)")
	ex, err := s.Export(ctx, "S1")
	if err != nil || len(ex.Served) != 1 {
		t.Fatalf("served rows after LogServed = %+v (%v), want 1", ex.Served, err)
	}
}

// A search by level runs at its own ef_search; the session keeps EfSearch afterwards,
// whether the search succeeded or failed.
func TestLevelSearchLeavesSessionEfSearch(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	s, err := pgstore.Open(ctx, dbURL, pgstore.Options{Migrate: true, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ingest(t, s, storetest.Fixture())
	_, res, err := s.Catalogue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(res))
	vecs := make([][]float32, len(res))
	for i, r := range res {
		ids[i], vecs[i] = r.ID, []float32{float32(i), 1, float32(i % 3)}
	}
	if err := s.PutResourceVectors(ctx, 1, ids, vecs); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		q       []float32
		wantErr bool
	}{
		{"Succeeding", []float32{1, 0, 0}, false},
		{"FailingOnDimension", []float32{1, 0}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := s.SearchResources(ctx, tc.q, 3, recommender.Filter{Levels: []string{"6e"}})
			if (err != nil) != tc.wantErr {
				t.Fatalf("SearchResources = %v, %v; want error %v", hits, err, tc.wantErr)
			}
			if !tc.wantErr && len(hits) != 3 {
				t.Fatalf("SearchResources found %d, want 3", len(hits))
			}
			if v, err := pgstore.Setting(ctx, s, "hnsw.ef_search"); err != nil || v != "400" {
				t.Fatalf("hnsw.ef_search after the search = %q (%v), want the session's 400", v, err)
			}
		})
	}
}
