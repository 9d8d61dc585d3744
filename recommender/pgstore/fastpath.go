package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// maxFastStatements bounds the batches ingestFast takes: what an LRS sends per POST.
const maxFastStatements = 200

// ingestFast is IngestApply's path for what the service receives all day: a small batch
// of new xAPI statements about known pupils and resources. The whole transaction is two
// round trips: BEGIN, the write lock (shared), the insert (of every row, or of none when one of
// them is already stored or names an unknown pupil or resource), the pupils' locks and
// their profiles in one; the profiles, generations, marks and COMMIT in the other. The
// general path's dozen round trips are what an event paid before, each one a wait for the
// scheduler on a busy machine.
//
// It reports ok=false, having written nothing, when the batch is not of that kind or the
// insert took none of it; IngestApply then runs the general path, which validates, names
// the bad row, and upserts.
func (s *Store) ingestFast(ctx context.Context, b *datasets.Dataset, fn recommender.ApplyFunc) (recommender.Changed, bool, error) {
	n := len(b.Statements)
	if fn == nil || n == 0 || n > maxFastStatements || len(b.Competencies)+len(b.Resources)+len(b.Students)+
		len(b.Lessons)+len(b.Grades)+len(b.Absences) > 0 {
		return recommender.Changed{}, false, nil
	}
	var (
		ids, students, verbs, objects []string
		ts                            []time.Time
		scaled                        []*float64
		success, completion           []*bool
		durations                     []*int64
	)
	seen := make(map[string]bool, n)
	pupils := map[string]bool{}
	for i := range b.Statements {
		st := &b.Statements[i]
		if st.Verb == datasets.VerbVoided || st.ID == "" || seen[st.ID] {
			return recommender.Changed{}, false, nil
		}
		if field, _ := checkStatement(st); field != "" {
			return recommender.Changed{}, false, nil
		}
		seen[st.ID] = true
		pupils[st.StudentID] = true
		ids, students, verbs, objects = append(ids, st.ID), append(students, st.StudentID), append(verbs, st.Verb), append(objects, st.ObjectID)
		ts = append(ts, st.Timestamp)
		scaled, success, completion = append(scaled, st.Scaled), append(success, st.Success), append(completion, st.Completion)
		durations = append(durations, durationNS(st.Duration))
	}
	ch := recommender.Changed{Students: sortedKeys(pupils)}

	conn, err := s.db.Acquire(ctx)
	if err != nil {
		return ch, true, fmt.Errorf("pgstore.Ingest: %w", wrap(err))
	}
	defer conn.Release()
	open := false
	defer func() {
		if open { // failed midway: nothing of it may stay
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	batch := &pgx.Batch{}
	batch.Queue("BEGIN")
	// Shared: fast ingests run side by side (their commits share WAL flushes), while an
	// erasure or a general ingest, which take the lock exclusively, waits for them and
	// they for it. Two of them inserting the same id meet on the primary key: the second
	// fails with a unique violation and takes the general path, which finds the row.
	batch.Queue("SELECT pg_advisory_xact_lock_shared($1)", writeLock)
	batch.Queue(`WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
			$6::float8[], $7::bool[], $8::bool[], $9::bigint[])
			AS u(id, student_id, verb, object_id, ts, scaled, success, completion, duration_ns))
		INSERT INTO statements (id, student_id, verb, object_id, ts, scaled, success, completion, duration_ns)
		SELECT u.* FROM u WHERE (SELECT bool_and(
			EXISTS (SELECT 1 FROM students x WHERE x.id = u.student_id) AND
			EXISTS (SELECT 1 FROM resources x WHERE x.id = u.object_id) AND
			NOT EXISTS (SELECT 1 FROM statements x WHERE x.id = u.id)) FROM u)`,
		ids, students, verbs, objects, ts, scaled, success, completion, durations)
	queueDelta(batch, ch.Students)
	open = true
	br := conn.SendBatch(ctx, batch)
	for range 2 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return ch, true, fmt.Errorf("pgstore.Ingest: %w", wrap(err))
		}
	}
	tag, err := br.Exec()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		tag, err = pgconn.CommandTag{}, nil // a concurrent twin: the general path decides
	}
	if err != nil {
		br.Close()
		return ch, true, fmt.Errorf("pgstore.Ingest: %w", wrap(err))
	}
	if tag.RowsAffected() != int64(n) {
		br.Close()
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			return ch, true, fmt.Errorf("pgstore.Ingest: %w", wrap(err))
		}
		open = false
		return recommender.Changed{}, false, nil
	}
	delta, err := scanDelta(br, b, ch, true)
	if err != nil {
		return ch, true, fmt.Errorf("pgstore.Ingest: %w", err)
	}
	var ps []features.Profile
	if len(delta.Pupils) > 0 {
		ps = fn(delta)
	}
	batch = &pgx.Batch{}
	if err := queueSettle(batch, ch, delta, ps); err != nil {
		return ch, true, fmt.Errorf("pgstore.Ingest: %w", err)
	}
	batch.Queue("COMMIT")
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return ch, true, fmt.Errorf("pgstore.Ingest: commit: %w", wrap(err))
	}
	open = false
	ch.Students = slices.Clip(ch.Students)
	return ch, true, nil
}
