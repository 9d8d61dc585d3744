package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

func TestUnreachableServerIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens, the connection is refused at once.
	_, err := pgstore.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", pgstore.Options{})
	if !errors.Is(err, recommender.ErrUnavailable) {
		t.Fatalf("Open on a closed port: %v, want ErrUnavailable", err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s := openStore(t)
	s.Close()
	if _, err := s.StudentIDs(context.Background()); !errors.Is(err, recommender.ErrUnavailable) {
		t.Fatalf("StudentIDs after Close: %v, want ErrUnavailable", err)
	}
}

func TestAuditRowsCannotBeUpdated(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	s, err := pgstore.Open(ctx, url, pgstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendAudit(ctx, recommender.AuditEntry{ActorID: "T1", ActorRole: "teacher", StudentID: "S1", Action: "export"}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE audit SET actor_id = 'someone else'`); err == nil {
		t.Fatal("UPDATE audit succeeded; the trigger must forbid it")
	}
	got, err := s.Audit(ctx, recommender.AuditQuery{})
	if err != nil || len(got) != 1 || got[0].ActorID != "T1" {
		t.Fatalf("audit after the refused update = %+v (%v)", got, err)
	}
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	url := pgtest.NewDatabase(t)
	for i := range 2 {
		if err := pgstore.Migrate(context.Background(), url); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
}

func TestReadReplicaServesSearches(t *testing.T) {
	// The primary doubles as its own replica here: what matters is that a second pool is
	// opened, pinged and closed, and that reads through it see committed writes.
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	s, err := pgstore.Open(ctx, url, pgstore.Options{Migrate: true, ReadURL: url + "&application_name=replica"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if hits, err := s.SearchResources(ctx, []float32{1, 2}, 5, recommender.Filter{}); err != nil || len(hits) != 0 {
		t.Fatalf("search on an empty replica = %v, %v", hits, err)
	}
}
