package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// ModelState returns the stored model state; ErrNotFound before the first PutModelState.
func (s *Store) ModelState(ctx context.Context) ([]byte, error) {
	var state []byte
	err := s.db.QueryRow(ctx, `SELECT state FROM model_state`).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore.ModelState: %w", recommender.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore.ModelState: %w", wrap(err))
	}
	return state, nil
}

// PutModelState replaces the model state.
func (s *Store) PutModelState(ctx context.Context, state []byte) error {
	if state == nil {
		state = []byte{}
	}
	_, err := s.db.Exec(ctx, `INSERT INTO model_state (state, updated_at) VALUES ($1, now())
		ON CONFLICT (singleton) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`, state)
	if err != nil {
		return fmt.Errorf("pgstore.PutModelState: %w", wrap(err))
	}
	return nil
}

// Decisions returns the teacher decisions on the pupil's path, oldest first.
func (s *Store) Decisions(ctx context.Context, studentID string) ([]recommender.Decision, error) {
	ds, err := decisions(ctx, s.db, studentID)
	if err != nil {
		return nil, fmt.Errorf("pgstore.Decisions: %w", err)
	}
	return ds, nil
}

func decisions(ctx context.Context, q querier, studentID string) ([]recommender.Decision, error) {
	rows, err := q.Query(ctx, `SELECT student_id, resource_id, decision, comment, teacher_id, at FROM decisions
		WHERE student_id = $1 ORDER BY at, id`, studentID)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (recommender.Decision, error) {
		var d recommender.Decision
		err := r.Scan(&d.StudentID, &d.ResourceID, &d.Decision, &d.Comment, &d.TeacherID, &d.At)
		d.At = d.At.UTC()
		return d, err
	})
	return nonNilSlice(out), wrap(err)
}

// AddDecision records a teacher's decision: ErrInvalid for an unknown decision value or
// resource, ErrNotFound for an unknown pupil.
func (s *Store) AddDecision(ctx context.Context, d recommender.Decision) error {
	if !recommender.ValidDecision(d.Decision) {
		return fmt.Errorf("pgstore.AddDecision: decision %q: %w", d.Decision, recommender.ErrInvalid)
	}
	if d.At.IsZero() {
		d.At = time.Now()
	}
	// The pupil's answers change with the decision: a new generation in the same statement.
	tag, err := s.db.Exec(ctx, `WITH ins AS (INSERT INTO decisions (student_id, resource_id, decision, comment, teacher_id, at)
		SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM resources WHERE id = $2) RETURNING student_id)
		UPDATE students SET `+nextGeneration+` WHERE id IN (SELECT student_id FROM ins)`,
		d.StudentID, d.ResourceID, d.Decision, d.Comment, d.TeacherID, d.At)
	if err != nil {
		return fmt.Errorf("pgstore.AddDecision: %w", wrap(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore.AddDecision: unknown resource %q: %w", d.ResourceID, recommender.ErrInvalid)
	}
	return nil
}

// DecisionCounts counts decisions by value over a school's pupils (all when empty).
func (s *Store) DecisionCounts(ctx context.Context, schoolID string) (map[string]int, error) {
	rows, err := s.db.Query(ctx, `SELECT d.decision, count(*) FROM decisions d JOIN students st ON st.id = d.student_id
		WHERE $1 = '' OR st.school_id = $1 GROUP BY d.decision`, schoolID)
	if err != nil {
		return nil, fmt.Errorf("pgstore.DecisionCounts: %w", wrap(err))
	}
	counts := map[string]int{}
	var dec string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&dec, &n}, func() error { counts[dec] = int(n); return nil }); err != nil {
		return nil, fmt.Errorf("pgstore.DecisionCounts: %w", wrap(err))
	}
	return counts, nil
}

// LogServed records the resources recommended to a pupil at one time.
//
// It commits with synchronous_commit = off, for its own transaction only: the rows are
// visible at once, but the commit does not wait for the WAL flush (~3 ms here, once per
// recommendation). A crash may lose the last few hundred milliseconds of served rows,
// which are analytics (uptake), never an access record. Erasure is not weakened: the WAL
// is flushed in order, so DeleteStudent's synchronous commit also makes durable every
// served row committed before it (and deleted by it), and a row inserted after it fails
// the foreign key on students. Audit entries are never written this way.
//
// set_config(..., true) is SET LOCAL as an expression, so that the setting and the
// insert are one statement, one round trip (a volatile CTE is never inlined or skipped).
func (s *Store) LogServed(ctx context.Context, studentID string, resourceIDs []string, at time.Time) error {
	if len(resourceIDs) == 0 {
		return nil
	}
	_, err := s.db.Exec(ctx, `WITH async AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
		INSERT INTO served (student_id, resource_id, at) SELECT $1, r, $3 FROM async, unnest($2::text[]) AS r`,
		studentID, resourceIDs, at)
	if err != nil {
		return fmt.Errorf("pgstore.LogServed: %w", wrap(err))
	}
	return nil
}

func served(ctx context.Context, q querier, studentID string) ([]recommender.Served, error) {
	rows, err := q.Query(ctx, `SELECT resource_id, at FROM served WHERE student_id = $1 ORDER BY at, id`, studentID)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (recommender.Served, error) {
		var sv recommender.Served
		err := r.Scan(&sv.ResourceID, &sv.At)
		sv.At = sv.At.UTC()
		return sv, err
	})
	return nonNilSlice(out), wrap(err)
}

// Uptake counts the distinct (pupil, resource) pairs served over a school's pupils (all
// when empty), and those the pupil used: a statement of theirs on the resource, not
// voided, within window after any time it was served.
func (s *Store) Uptake(ctx context.Context, schoolID string, window time.Duration) (recommender.UptakeAggregate, error) {
	var u recommender.UptakeAggregate
	var pupils, pairs, used int64
	err := s.db.QueryRow(ctx, `
		WITH sv AS (
			SELECT sv.student_id, sv.resource_id, sv.at FROM served sv JOIN students st ON st.id = sv.student_id
			WHERE $1 = '' OR st.school_id = $1
		), pairs AS (
			SELECT student_id, resource_id, bool_or(EXISTS (
				SELECT 1 FROM statements x
				WHERE x.student_id = sv.student_id AND x.object_id = sv.resource_id
				  AND x.ts >= sv.at AND x.ts <= sv.at + $2::interval
				  AND x.verb <> $3
				  AND NOT EXISTS (SELECT 1 FROM statements v WHERE v.object_id = x.id AND v.verb = $3)
			)) AS used
			FROM sv GROUP BY student_id, resource_id
		)
		SELECT count(DISTINCT student_id), count(*), count(*) FILTER (WHERE used) FROM pairs`,
		schoolID, window, datasets.VerbVoided).Scan(&pupils, &pairs, &used)
	if err != nil {
		return u, fmt.Errorf("pgstore.Uptake: %w", wrap(err))
	}
	u.Pupils, u.Recommended, u.Used = int(pupils), int(pairs), int(used)
	if pairs > 0 {
		u.Rate = float64(used) / float64(pairs)
	}
	return u, nil
}

// AppendAudit writes one access-log entry; it returns once the entry is committed.
func (s *Store) AppendAudit(ctx context.Context, e recommender.AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := s.db.Exec(ctx, `INSERT INTO audit (at, actor_id, actor_role, student_id, action, detail, outcome)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.At, e.ActorID, e.ActorRole, e.StudentID, e.Action, e.Detail, e.Outcome)
	if err != nil {
		return fmt.Errorf("pgstore.AppendAudit: %w", wrap(err))
	}
	return nil
}

// AppendAudits writes entries in one statement, hence one transaction and one commit:
// all of them or none, with increasing ids in slice order, durable when it returns. It is
// the api package's optional AuditBatcher capability (group commit of concurrent reads).
// An entry's zero At is stamped now.
func (s *Store) AppendAudits(ctx context.Context, es []recommender.AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	now := time.Now()
	at := make([]time.Time, len(es))
	cols := make([][]string, 6)
	for i := range cols {
		cols[i] = make([]string, len(es))
	}
	for i, e := range es {
		at[i] = e.At
		if at[i].IsZero() {
			at[i] = now
		}
		cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i], cols[5][i] = e.ActorID, e.ActorRole, e.StudentID, e.Action, e.Detail, e.Outcome
	}
	// One statement text whatever the batch size (a VALUES list would prepare one
	// statement per size); rows are inserted, and draw their ids, in ordinality order.
	_, err := s.db.Exec(ctx, `INSERT INTO audit (at, actor_id, actor_role, student_id, action, detail, outcome)
		SELECT at, actor_id, actor_role, student_id, action, detail, outcome
		FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
			WITH ORDINALITY AS e (at, actor_id, actor_role, student_id, action, detail, outcome, n)
		ORDER BY n`, at, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5])
	if err != nil {
		return fmt.Errorf("pgstore.AppendAudits: %d entries: %w", len(es), wrap(err))
	}
	return nil
}

// Audit returns the entries about q.StudentID (all pupils when empty) since q.Since,
// in the order they were appended, at most q.Limit of them (all when zero).
func (s *Store) Audit(ctx context.Context, q recommender.AuditQuery) ([]recommender.AuditEntry, error) {
	limit := int64(q.Limit)
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.Query(ctx, `SELECT id, at, actor_id, actor_role, student_id, action, detail, outcome FROM audit
		WHERE ($1 = '' OR student_id = $1) AND at >= $2 ORDER BY id LIMIT NULLIF($3, -1)`,
		q.StudentID, q.Since, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore.Audit: %w", wrap(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (recommender.AuditEntry, error) {
		var e recommender.AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorRole, &e.StudentID, &e.Action, &e.Detail, &e.Outcome)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore.Audit: %w", wrap(err))
	}
	return nonNilSlice(out), nil
}
