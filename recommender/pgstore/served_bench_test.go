package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
	"github.com/parcours-ent/parcours/recommender/storetest"
)

// BenchmarkServedLog compares, one writer at a time (the latency a request pays), the
// served-log insert committed durably (what LogServed did: one WAL flush per call),
// LogServed itself (asynchronous commit), and the audit writes that must stay durable:
// one entry per commit, and 32 entries in one AppendAudits.
//
//	go test -run '^$' -bench ServedLog -benchtime 2s ./recommender/pgstore/
func BenchmarkServedLog(b *testing.B) {
	ctx := context.Background()
	url := pgtest.NewDatabase(b)
	s, err := pgstore.Open(ctx, url, pgstore.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ingest(b, s, storetest.Fixture())
	ids := []string{"R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R09", "R10"}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	entry := recommender.AuditEntry{ActorID: "S1", ActorRole: "student", StudentID: "S1", Action: "recommendations.read", Detail: "GET /v1/students/S1/recommendations"}
	batch := make([]recommender.AuditEntry, 32)
	for i := range batch {
		batch[i] = entry
	}
	cases := []struct {
		name string
		op   func() error
	}{
		{"DurableInsert", func() error {
			_, err := conn.Exec(ctx, `INSERT INTO served (student_id, resource_id, at) SELECT $1, r, $3 FROM unnest($2::text[]) AS r`, "S1", ids, time.Now())
			return err
		}},
		{"LogServed", func() error { return s.LogServed(ctx, "S1", ids, time.Now()) }},
		{"AppendAudit", func() error { return s.AppendAudit(ctx, entry) }},
		{"AppendAudits32", func() error { return s.AppendAudits(ctx, batch) }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if err := tc.op(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
