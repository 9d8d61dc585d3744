package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// querier is what pools and transactions share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Catalogue returns every competency and resource, by id.
func (s *Store) Catalogue(ctx context.Context) ([]datasets.Competency, []datasets.Resource, error) {
	rows, err := s.db.Query(ctx, `SELECT id, subject, level, label, prerequisites FROM competencies ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore.Catalogue: %w", wrap(err))
	}
	comps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (datasets.Competency, error) {
		var c datasets.Competency
		err := r.Scan(&c.ID, &c.Subject, &c.Level, &c.Label, &c.Prerequisites)
		return c, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore.Catalogue: %w", wrap(err))
	}
	rows, err = s.db.Query(ctx, `SELECT `+resourceCols+` FROM resources ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore.Catalogue: %w", wrap(err))
	}
	res, err := pgx.CollectRows(rows, scanResource)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore.Catalogue: %w", wrap(err))
	}
	return comps, res, nil
}

const studentCols = `id, school_id, class_id, level, consent, display_name, mbox`

func scanStudent(r pgx.CollectableRow) (datasets.Student, error) {
	var st datasets.Student
	err := r.Scan(&st.ID, &st.SchoolID, &st.ClassID, &st.Level, &st.Consent, &st.DisplayName, &st.Mbox)
	return st, err
}

const resourceCols = `id, title, subject, level, type, competencies, difficulty, duration_min, url, alt_ids`

func scanResource(r pgx.CollectableRow) (datasets.Resource, error) {
	var x datasets.Resource
	var dur int32
	err := r.Scan(&x.ID, &x.Title, &x.Subject, &x.Level, &x.Type, &x.Competencies, &x.Difficulty, &dur, &x.URL, &x.AltIDs)
	x.DurationMin = int(dur)
	if len(x.AltIDs) == 0 {
		x.AltIDs = nil // the data folder's empty cell
	}
	return x, err
}

// Student returns one pupil; ErrNotFound when unknown.
func (s *Store) Student(ctx context.Context, id string) (datasets.Student, error) {
	st, err := student(ctx, s.db, id)
	if err != nil {
		return st, fmt.Errorf("pgstore.Student: %w", err)
	}
	return st, nil
}

func student(ctx context.Context, q querier, id string) (datasets.Student, error) {
	rows, err := q.Query(ctx, `SELECT `+studentCols+` FROM students WHERE id = $1`, id)
	if err != nil {
		return datasets.Student{}, wrap(err)
	}
	st, err := pgx.CollectExactlyOneRow(rows, scanStudent)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("student %q: %w", id, recommender.ErrNotFound)
	}
	return st, wrap(err)
}

// Access reads the pupil's class, consent and generation: one primary-key read.
func (s *Store) Access(ctx context.Context, id string) (recommender.Access, error) {
	a := recommender.Access{StudentID: id}
	err := s.db.QueryRow(ctx, `SELECT school_id, class_id, consent, generation FROM students WHERE id = $1`, id).
		Scan(&a.SchoolID, &a.ClassID, &a.Consent, &a.Generation)
	if errors.Is(err, pgx.ErrNoRows) {
		return recommender.Access{}, fmt.Errorf("pgstore.Access: student %q: %w", id, recommender.ErrNotFound)
	}
	if err != nil {
		return recommender.Access{}, fmt.Errorf("pgstore.Access: %w", wrap(err))
	}
	return a, nil
}

// nextGeneration is the SQL that gives a pupil a new generation (see Access).
const nextGeneration = `generation = nextval('pupil_generation')`

// ClassStudents returns a class's pupils, by id.
func (s *Store) ClassStudents(ctx context.Context, classID string) ([]datasets.Student, error) {
	return s.students(ctx, "pgstore.ClassStudents", `WHERE class_id = $1`, classID)
}

// SchoolStudents returns a school's pupils, by id.
func (s *Store) SchoolStudents(ctx context.Context, schoolID string) ([]datasets.Student, error) {
	return s.students(ctx, "pgstore.SchoolStudents", `WHERE school_id = $1`, schoolID)
}

func (s *Store) students(ctx context.Context, op, where string, arg string) ([]datasets.Student, error) {
	rows, err := s.db.Query(ctx, `SELECT `+studentCols+` FROM students `+where+` ORDER BY id`, arg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, wrap(err))
	}
	out, err := pgx.CollectRows(rows, scanStudent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, wrap(err))
	}
	return out, nil
}

// StudentIDs lists every pupil id, sorted byte-wise (the column is COLLATE "C").
func (s *Store) StudentIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM students ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("pgstore.StudentIDs: %w", wrap(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore.StudentIDs: %w", wrap(err))
	}
	return ids, nil
}

// SetConsent records the pupil's consent to personalisation; ErrNotFound when unknown.
func (s *Store) SetConsent(ctx context.Context, id string, consent bool) error {
	// The mark commits with the choice: the profile must follow it even if the process
	// dies before the engine rebuilds it (a withdrawal must empty it).
	tag, err := s.db.Exec(ctx, `WITH u AS (UPDATE students SET consent = $2, `+nextGeneration+` WHERE id = $1 RETURNING id)
		INSERT INTO stale_pupils (student_id, gen) SELECT id, nextval('pupil_gen') FROM u
		ON CONFLICT (student_id) DO UPDATE SET gen = EXCLUDED.gen, marked_at = now()`, id, consent)
	if err != nil {
		return fmt.Errorf("pgstore.SetConsent: %w", wrap(err))
	}
	if tag.RowsAffected() == 0 {
		if gone, err := s.tombstoned(ctx, id); err == nil && gone {
			return fmt.Errorf("pgstore.SetConsent: %w", recommender.ErrTombstoned(recommender.PupilRow{StudentID: id}))
		}
		return fmt.Errorf("pgstore.SetConsent: student %q: %w", id, recommender.ErrNotFound)
	}
	return nil
}

// PupilEvents reads the pupil's events in one repeatable-read snapshot, so that an ingest
// committing meanwhile cannot show half of itself.
func (s *Store) PupilEvents(ctx context.Context, id string) (features.PupilEvents, error) {
	var ev features.PupilEvents
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if ev.Student, err = student(ctx, tx, id); err != nil {
			return err
		}
		if ev.Grades, err = grades(ctx, tx, id); err != nil {
			return err
		}
		if ev.Absences, err = absences(ctx, tx, id); err != nil {
			return err
		}
		if ev.Statements, err = statements(ctx, tx, id, false); err != nil {
			return err
		}
		ev.Lessons, err = lessons(ctx, tx, ev.Student.ClassID)
		return err
	})
	if err != nil {
		return features.PupilEvents{}, fmt.Errorf("pgstore.PupilEvents: %w", wrap(err))
	}
	return ev, nil
}

func grades(ctx context.Context, q querier, studentID string) ([]datasets.Grade, error) {
	rows, err := q.Query(ctx, `SELECT id, student_id, subject, competencies, assessment_id, date, score, out_of, coefficient, status
		FROM grades WHERE student_id = $1 ORDER BY date, id`, studentID)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (datasets.Grade, error) {
		var g datasets.Grade
		err := r.Scan(&g.ID, &g.StudentID, &g.Subject, &g.Competencies, &g.AssessmentID, &g.Date, &g.Score, &g.OutOf, &g.Coefficient, &g.Status)
		g.Date = g.Date.UTC()
		return g, err
	})
	return nonNilSlice(out), wrap(err)
}

func absences(ctx context.Context, q querier, studentID string) ([]datasets.Absence, error) {
	rows, err := q.Query(ctx, `SELECT id, student_id, start_at, end_at, justified FROM absences
		WHERE student_id = $1 ORDER BY start_at, id`, studentID)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (datasets.Absence, error) {
		var a datasets.Absence
		err := r.Scan(&a.ID, &a.StudentID, &a.Start, &a.End, &a.Justified)
		a.Start, a.End = a.Start.UTC(), a.End.UTC()
		return a, err
	})
	return nonNilSlice(out), wrap(err)
}

// statements returns the pupil's statements in time order. Unless all is set, voided
// statements and the voiding statements themselves are left out: neither is usage.
func statements(ctx context.Context, q querier, studentID string, all bool) ([]datasets.Statement, error) {
	where := ""
	if !all {
		where = ` AND s.verb <> '` + datasets.VerbVoided + `' AND NOT EXISTS (
			SELECT 1 FROM statements v WHERE v.object_id = s.id AND v.verb = '` + datasets.VerbVoided + `')`
	}
	rows, err := q.Query(ctx, `SELECT s.id, s.student_id, s.verb, s.object_id, s.ts, s.scaled, s.success, s.completion, s.duration_ns
		FROM statements s WHERE s.student_id = $1`+where+` ORDER BY s.ts, s.id`, studentID)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (datasets.Statement, error) {
		var st datasets.Statement
		var ns *int64
		err := r.Scan(&st.ID, &st.StudentID, &st.Verb, &st.ObjectID, &st.Timestamp, &st.Scaled, &st.Success, &st.Completion, &ns)
		st.Timestamp = st.Timestamp.UTC()
		if ns != nil {
			d := time.Duration(*ns)
			st.Duration = &d
		}
		return st, err
	})
	return nonNilSlice(out), wrap(err)
}

func lessons(ctx context.Context, q querier, classID string) ([]datasets.Lesson, error) {
	rows, err := q.Query(ctx, `SELECT id, class_id, subject, competencies, start_at, end_at FROM lessons
		WHERE class_id = $1 ORDER BY start_at, id`, classID)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (datasets.Lesson, error) {
		var l datasets.Lesson
		err := r.Scan(&l.ID, &l.ClassID, &l.Subject, &l.Competencies, &l.Start, &l.End)
		l.Start, l.End = l.Start.UTC(), l.End.UTC()
		return l, err
	})
	return nonNilSlice(out), wrap(err)
}

// nonNilSlice makes "none" an empty slice, which encodes as [] rather than null in JSON.
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Export returns everything held about the pupil, voided statements included (they are
// still held), read in one snapshot.
func (s *Store) Export(ctx context.Context, id string) (recommender.Export, error) {
	var ex recommender.Export
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if ex.Student, err = student(ctx, tx, id); err != nil {
			return err
		}
		if ex.Grades, err = grades(ctx, tx, id); err != nil {
			return err
		}
		if ex.Absences, err = absences(ctx, tx, id); err != nil {
			return err
		}
		if ex.Statements, err = statements(ctx, tx, id, true); err != nil {
			return err
		}
		ps, err := profiles(ctx, tx, []string{id})
		if err != nil {
			return err
		}
		if len(ps) == 1 {
			ex.Profile = &ps[0]
			ex.Vector = ps[0].Vector
		}
		if ex.Decisions, err = decisions(ctx, tx, id); err != nil {
			return err
		}
		if ex.Served, err = served(ctx, tx, id); err != nil {
			return err
		}
		ex.Unmapped, err = unmappedOfPupil(ctx, tx, ex.Student)
		return err
	})
	if err != nil {
		return recommender.Export{}, fmt.Errorf("pgstore.Export: %w", wrap(err))
	}
	return ex, nil
}

// DeleteStudent erases the pupil from every table but audit, in one transaction.
func (s *Store) DeleteStudent(ctx context.Context, id string) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", writeLock); err != nil {
			return wrap(err)
		}
		if err := eraseUnmapped(ctx, tx, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM grades WHERE student_id = $1`,
			`DELETE FROM absences WHERE student_id = $1`,
			`DELETE FROM statements WHERE student_id = $1`,
			`DELETE FROM profiles WHERE student_id = $1`,
			`DELETE FROM decisions WHERE student_id = $1`,
			`DELETE FROM served WHERE student_id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return wrap(err)
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM students WHERE id = $1`, id)
		if err != nil {
			return wrap(err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("student %q: %w", id, recommender.ErrNotFound)
		}
		// In the same transaction, under the write lock that Ingest takes too: no batch
		// can slip in between the erasure and its tombstone.
		if _, err := tx.Exec(ctx, `INSERT INTO tombstones (hash) VALUES ($1) ON CONFLICT DO NOTHING`,
			recommender.TombstoneHash(s.tombKey, id)); err != nil {
			return wrap(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore.DeleteStudent: %w", wrap(err)) // BeginFunc's own errors too
	}
	return nil
}

// Purge applies the retention periods in one transaction. Events are old when they
// ended before dataBefore; recommendations served then go with them.
func (s *Store) Purge(ctx context.Context, auditBefore, dataBefore time.Time) (recommender.PurgeCounts, error) {
	var pc recommender.PurgeCounts
	var unmapped int64
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		for _, d := range []struct {
			q      string
			before time.Time
			n      *int64
		}{
			{`DELETE FROM audit WHERE at < $1`, auditBefore, &pc.Audit},
			{`DELETE FROM grades WHERE date < $1`, dataBefore, &pc.Grades},
			{`DELETE FROM absences WHERE end_at < $1`, dataBefore, &pc.Absences},
			{`DELETE FROM statements WHERE ts < $1`, dataBefore, &pc.Statements},
			{`DELETE FROM unmapped_statements WHERE ts < $1`, dataBefore, &unmapped},
			{`DELETE FROM lessons WHERE end_at < $1`, dataBefore, &pc.Lessons},
			{`DELETE FROM served WHERE at < $1`, dataBefore, new(int64)},
			{`DELETE FROM experiment_exposures WHERE at < $1`, dataBefore, new(int64)},
			{`DELETE FROM experiment_feedback WHERE at < $1`, dataBefore, new(int64)},
		} {
			tag, err := tx.Exec(ctx, d.q, d.before)
			if err != nil {
				return wrap(err)
			}
			*d.n = tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return recommender.PurgeCounts{}, fmt.Errorf("pgstore.Purge: %w", wrap(err))
	}
	pc.Statements += unmapped
	return pc, nil
}
